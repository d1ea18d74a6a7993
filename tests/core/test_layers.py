"""The layers contract (pyproject.toml ``[tool.importlinter]``) holds and CI runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contract_is_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_ci_runs_the_contract_next_to_ruff() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text().splitlines()
    ruff = next(i for i, line in enumerate(script) if "ruff check" in line)
    assert any("lint-imports" in line for line in script[ruff:ruff + 3])
