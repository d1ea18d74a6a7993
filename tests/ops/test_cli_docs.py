"""The docs against the command tree, in the direction tests/ops/test_docs.py does not check.

- docs/cli.md is exactly what scripts/gen_cli_docs.py writes from ``--help`` now;
- every command and subcommand has its section in docs/cli.md;
- every top-level command is mentioned (``bookedbiz NAME``) in README.md or docs/operations.md;
- every ``bookedbiz`` line in the README exists with the options it shows;
- the README's two commands, its documents list and its layout match the tree.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType

import click
import pytest
from click.testing import CliRunner
from opscli import resolve

from bookedbiz.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"
OPERATIONS = ROOT / "docs" / "operations.md"


def generator() -> ModuleType:
    """scripts/gen_cli_docs.py, loaded from its file (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_cli_docs",
                                                  ROOT / "scripts" / "gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_paths() -> list[tuple[str, ...]]:
    """Every command path under the root (not the root itself)."""
    def walk(command: click.Command, path: tuple[str, ...]):
        yield path
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), (*path, name))
    return [path for path in walk(cli, ()) if path]


PATHS = all_paths()


def test_cli_md_is_up_to_date() -> None:
    gen = generator()
    assert CLI_DOC.read_text() == gen.render(), (
        f"docs/cli.md is out of date; regenerate it with: {gen.REGENERATE}")


def test_the_check_mode_notices_a_stale_file(tmp_path: Path, monkeypatch, capsys) -> None:
    gen = generator()
    stale = tmp_path / "cli.md"
    stale.write_text(gen.render().replace("Usage: bookedbiz init", "Usage: bookedbiz init-old"))
    monkeypatch.setattr(gen, "DOC", stale)
    assert gen.main(["--check"]) == 1
    assert gen.REGENERATE in capsys.readouterr().out
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) for p in PATHS])
def test_every_command_has_its_section_in_cli_md(path: tuple[str, ...]) -> None:
    title = " ".join(("bookedbiz", *path))
    text = CLI_DOC.read_text()
    assert re.search(rf"^#+ {re.escape(title)}$", text, re.MULTILINE), f"no section {title!r}"
    assert f"Usage: {title} " in text, f"no --help for {title!r}"


def mentions(name: str, text: str) -> bool:
    """``bookedbiz NAME`` (or ``bookedbiz-admin NAME``) as a whole word."""
    return re.search(rf"bookedbiz(?:-admin)? {re.escape(name)}(?![\w-])", text) is not None


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_top_level_command_is_in_the_readme_or_the_guide(name: str) -> None:
    assert mentions(name, README.read_text()) or mentions(name, OPERATIONS.read_text()), (
        f"'bookedbiz {name}' is in neither README.md nor docs/operations.md")


def test_mentions_is_strict() -> None:
    assert mentions("sync", "run bookedbiz sync backup")
    assert not mentions("sync", "bookedbiz sync-all")
    assert not mentions("import", "bookedbiz imports")


def readme_command_lines() -> list[str]:
    """The indented lines of the README that start with ``bookedbiz``."""
    return [raw.strip() for raw in README.read_text().splitlines()
            if raw.startswith("    bookedbiz ")]


README_LINES = readme_command_lines()


@pytest.mark.parametrize("line", README_LINES)
def test_readme_command_exists_with_its_options(line: str) -> None:
    tokens = shlex.split(line, comments=True)
    path, command, rest = resolve(tokens[1:])
    assert path, line
    assert not isinstance(command, click.Group), f"{line!r} names a group, not a command"
    assert CliRunner().invoke(cli, [*path, "--help"]).exit_code == 0
    known = {opt for param in command.params for opt in param.opts}
    for word in rest:
        if word.startswith("-"):
            assert word.split("=", 1)[0] in known, f"{word} is not an option of {path}"
    arguments = [p for p in command.params if isinstance(p, click.Argument) and p.required]
    given = [w for i, w in enumerate(rest) if not w.startswith("-")
             and not (i and rest[i - 1] in _value_options(command))]
    assert len(given) >= len(arguments), f"{line!r} lacks an argument"


def _value_options(command: click.Command) -> set[str]:
    return {opt for p in command.params if isinstance(p, click.Option) and not p.is_flag
            for opt in p.opts}


def test_the_readme_starts_with_the_two_commands() -> None:
    text = README.read_text()
    commands = re.findall(r"^    (bash scripts/\S+)$", text, re.MULTILINE)
    assert commands[:2] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    for command in commands:
        assert (ROOT / command.split()[1]).is_file(), command
    assert len(README_LINES) >= 15
    assert len(text.splitlines()) <= 90, "keep the README short"


def test_the_readme_lists_every_document_and_only_real_ones() -> None:
    listed = set(re.findall(r"`(docs/[\w-]+\.md)`", README.read_text()))
    present = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert listed == present


def test_the_readme_layout_names_every_package_and_only_real_ones() -> None:
    text = README.read_text().split("## Layout", 1)[1].split("Tests are in", 1)[0]
    package = ROOT / "src" / "bookedbiz"
    present = {f"{p.name}/" for p in package.iterdir()
               if p.is_dir() and (p / "__init__.py").is_file()}
    named = set(re.findall(r"`(\w+/)`", text))
    assert named == present
    for module in re.findall(r"`(\w+\.py)`", text):
        assert (package / module).is_file(), module
