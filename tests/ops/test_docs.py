"""Every ``bookedbiz`` command line in docs/operations.md exists, with the options it shows.

Each line in a ```bash block that calls ``bookedbiz``, ``.venv/bin/bookedbiz`` or
``bookedbiz-admin`` is resolved against the real command tree: the subcommand must answer
``--help`` with exit 0 and every ``--option`` written on the line must be one of its options.
The lines that can run locally (``deploy render``, ``jobs status``) are also run for real.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from opscli import resolve, root_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ENTRY = re.compile(r"^(bookedbiz|bookedbiz-admin|\S*/bin/bookedbiz)$")


def entry_index(tokens: list[str]) -> int | None:
    """Where the bookedbiz program is: the first word, or the word after sudo."""
    start = 1 if tokens[:1] == ["sudo"] else 0
    return start if len(tokens) > start and ENTRY.match(tokens[start]) else None


def documented_lines() -> list[str]:
    lines, inside = [], False
    for raw in DOC.read_text().splitlines():
        if raw.startswith("```"):
            inside = raw.strip() == "```bash"
            continue
        if inside and "bookedbiz" in raw:
            for segment in raw.split("&&"):
                if entry_index(shlex.split(segment)) is not None:
                    lines.append(segment.strip())
    return lines


LINES = documented_lines()


def test_the_guide_documents_the_expected_commands() -> None:
    joined = "\n".join(LINES)
    for needed in ("deploy render", "jobs run daily-update", "jobs status", "notify test",
                   "doctor", "sync restore", "sync download", "months close Oct-26", "init",
                   "explore"):
        assert needed in joined, needed
    assert len(LINES) >= 20
    root = DOC.parents[1]
    for script in set(re.findall(r"bash (scripts/[\w.-]+\.sh)", DOC.read_text())):
        assert (root / script).is_file(), script


@pytest.mark.parametrize("line", LINES)
def test_documented_command_exists_with_its_options(line: str) -> None:
    tokens = shlex.split(line)
    start = entry_index(tokens)
    path, command, rest = resolve(tokens[start + 1:])
    assert path, line
    result = CliRunner().invoke(root_cli(), [*path, "--help"])
    assert result.exit_code == 0, result.output
    if path == ["jobs", "run"]:
        from bookedbiz.jobs.definitions import JOBS

        assert rest and rest[0] in JOBS, line
    known = {opt for param in command.params for opt in param.opts}
    for tok in rest:
        if tok == "--":
            break  # options after -- belong to the job
        if tok.startswith("--"):
            assert tok.split("=", 1)[0] in known, f"{tok} is not an option of {' '.join(path)}"


def test_documented_render_and_status_lines_run(tmp_path, db_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(db_path))
    monkeypatch.setenv("DATA_PATH", str(db_path.parent))
    ran = 0
    for line in LINES:
        tokens = shlex.split(line)
        start = entry_index(tokens)
        args = tokens[start + 1:]
        if args[:2] == ["deploy", "render"]:
            args[args.index("--out") + 1] = str(tmp_path / f"deploy{ran}")
        elif args[:2] != ["jobs", "status"]:
            continue
        result = CliRunner().invoke(root_cli(), args)
        assert result.exit_code == 0, (line, result.output)
        ran += 1
    assert ran >= 3
    assert (tmp_path / "deploy0" / "systemd" / "bookedbiz-web.service").is_file()
