"""``python -m bookedbiz`` runs the command line (used by the job runner)."""

from bookedbiz.cli.main import cli

if __name__ == "__main__":
    cli()
