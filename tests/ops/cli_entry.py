"""Run the bookedbiz CLI with the fake jobs registered (used by subprocess tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fakejobs  # noqa: E402,F401  (registers the fake jobs)
from opscli import root_cli  # noqa: E402

if __name__ == "__main__":
    root_cli()(prog_name="bookedbiz")
