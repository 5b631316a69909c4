"""The CLI's surface: the lazy command table against the real commands, help texts with
examples, and `sop validate` exiting alike in text and JSON mode."""

from __future__ import annotations

import json
from importlib import import_module
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from sopflow.cli.main import APP_SETTINGS, COMMAND_MODULES, COMMANDS, app
from tests.support.workspaces import EXAMPLES

MOMBABY = EXAMPLES / "mombaby-refined.yaml"


def _registered(module_name: str) -> typer.Typer:
    """A fresh app holding only what `sopflow.cli.<module_name>.register` adds."""
    scratch = typer.Typer(**APP_SETTINGS)
    import_module(f"sopflow.cli.{module_name}").register(scratch)
    return scratch


def _eager_app() -> typer.Typer:
    """The root as it was before the table: every module registered up front."""
    eager = typer.Typer(name="sop", **APP_SETTINGS)
    eager.callback()(app.registered_callback.callback)
    for module_name in COMMAND_MODULES:
        import_module(f"sopflow.cli.{module_name}").register(eager)
    return eager


def test_the_table_names_every_registered_command_where_it_lives() -> None:
    found: dict[str, tuple[str, object]] = {}
    for module_name in COMMAND_MODULES:
        scratch = _registered(module_name)
        for info in scratch.registered_commands:
            name = info.name or info.callback.__name__.replace("_", "-")
            found[name] = (module_name, info.callback)
        for group in scratch.registered_groups:
            found[str(group.name)] = (module_name, group.typer_instance)
    assert set(found) == set(COMMANDS)
    for name, (module_name, target) in found.items():
        entry = COMMANDS[name]
        assert entry.module == module_name, name
        assert getattr(import_module(f"sopflow.cli.{module_name}"), entry.attribute) is target


def test_the_tables_short_help_is_the_first_line_of_each_commands_help() -> None:
    group = get_command(_eager_app())
    assert isinstance(group, TyperGroup)
    for name, entry in COMMANDS.items():
        real = group.commands[name].help or ""
        assert entry.help == real.strip().splitlines()[0], f"sop {name}: table help drifted"


def test_root_help_lists_each_command_as_typer_would_from_the_command_itself() -> None:
    runner = CliRunner()
    lazy = runner.invoke(app, ["--help"], terminal_width=100)
    eager = runner.invoke(_eager_app(), ["--help"], terminal_width=100)
    assert lazy.exit_code == eager.exit_code == 0
    listing = lazy.output.split("Commands:")[1].strip().splitlines()
    assert sorted(listing) == sorted(eager.output.split("Commands:")[1].strip().splitlines())
    assert [line.split()[0] for line in listing] == list(COMMANDS)


def _command_paths() -> list[list[str]]:
    """Every command and subcommand, found through the root's own lookup (as a user would)."""
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append(path)
        if isinstance(cmd, TyperGroup):
            ctx = typer.Context(cmd)
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])

    walk(get_command(app), [])
    return found


def test_every_command_has_help_with_an_example_of_itself() -> None:
    runner = CliRunner()
    paths = _command_paths()
    assert len(paths) > len(COMMANDS)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, path
        if path and path != ["audit"]:
            assert "Example:" in result.output, f"sop {' '.join(path)} --help lacks an example"
            example = " ".join(result.output.split("Example:", 1)[1].split("\n\n")[0].split())
            assert " ".join(["sop", *path]) in example, f"sop {' '.join(path)}: {example}"


def test_unknown_command_suggests_the_closest_one() -> None:
    result = CliRunner().invoke(app, ["vaildate"])
    assert result.exit_code == 2 and "validate" in result.output


def _files(case: str, tmp_path: Path) -> list[str]:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    cases = {
        "valid": [MOMBABY],
        "folder": [EXAMPLES],
        "invalid": [broken],
        "missing": [missing],
        "mixed": [MOMBABY, broken, missing],
    }
    return [str(path) for path in cases[case]]


@pytest.mark.parametrize(
    ("case", "code"), [("valid", 0), ("folder", 0), ("invalid", 2), ("missing", 2), ("mixed", 2)]
)
def test_validate_exits_with_the_same_code_in_text_and_json_mode(
    case: str, code: int, tmp_path: Path
) -> None:
    files = _files(case, tmp_path)
    runner = CliRunner()
    text = runner.invoke(app, ["validate", *files])
    as_json = runner.invoke(app, ["validate", "--json", *files])
    assert text.exit_code == as_json.exit_code == code
    assert "Traceback" not in text.output + as_json.output
    records = json.loads(as_json.stdout)
    problems = [p for record in records if not record["ok"] for p in record["problems"]]
    assert bool(problems) == (code != 0)
    for problem in problems:
        assert f"sop: error: {problem}" in text.stderr.splitlines()
        assert f"sop: error: {problem}" in as_json.stderr.splitlines()
    ok_in_text = [line.split()[1] for line in text.stdout.splitlines() if line.startswith("ok ")]
    assert ok_in_text == [record["file"] for record in records if record["ok"]]
