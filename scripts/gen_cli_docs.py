"""Write docs/cli.md: the ``--help`` of every bookedbiz command and subcommand.

The reference is generated, never edited, so it cannot drift from the code;
tests/ops/test_cli_docs.py fails when the file differs from what this script writes now.

    .venv/bin/python scripts/gen_cli_docs.py           # rewrite docs/cli.md
    .venv/bin/python scripts/gen_cli_docs.py --check   # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from bookedbiz.cli.main import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
REGENERATE = ".venv/bin/python scripts/gen_cli_docs.py"
WIDTH = 100  # fixed, so the text does not depend on the terminal that generates it


def command_paths(command: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    """Every command under the root, depth first in listed order; the root itself is ()."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from command_paths(sub, (*path, name))


def help_text(path: tuple[str, ...]) -> str:
    """What ``bookedbiz PATH --help`` prints, at the fixed width."""
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="bookedbiz",
                                terminal_width=WIDTH, max_content_width=WIDTH, env={})
    if result.exit_code != 0:
        raise SystemExit(f"bookedbiz {' '.join(path)} --help failed:\n{result.output}")
    return result.output.rstrip()


def anchor(title: str) -> str:
    """The heading's anchor as GitHub and most Markdown renderers make it."""
    return title.lower().replace(" ", "-")


def render() -> str:
    """The whole of docs/cli.md."""
    paths = [path for path, _ in command_paths()]
    lines = [
        "# Command-line reference",
        "",
        "Generated from the `--help` of every command by `scripts/gen_cli_docs.py`; do not edit",
        "by hand. `tests/ops/test_cli_docs.py` fails when it is out of date. Regenerate with:",
        "",
        f"    {REGENERATE}",
        "",
        "Settings (`DATABASE_PATH`, `DATA_PATH`, …) come from the environment or an env file;",
        "see docs/operations.md.",
        "",
    ]
    for path in paths:
        title = " ".join(("bookedbiz", *path))
        lines.append(f"{'  ' * max(len(path) - 1, 0)}- [{title}](#{anchor(title)})")
    for path in paths:
        title = " ".join(("bookedbiz", *path))
        level = "##" if len(path) <= 1 else "###"
        lines += ["", f"{level} {title}", "", "```text",
                  help_text(path), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.is_file() or DOC.read_text() != text:
            print(f"docs/cli.md is out of date; regenerate it with: {REGENERATE}")
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
