"""The ``bookedbiz`` command line: one module of commands per area, assembled in main.py."""
