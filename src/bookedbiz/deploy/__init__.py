"""Operating an installation: rendered systemd units, doctor, Datasette explorer."""
