"""Running `sop check-data` in-process: its output as a Result or as JSON, its one-line errors."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

UNIT_ARGS = ["--unit", "member", "--variant-column", "arm", "--baseline", "A", "--candidate", "B"]
"""One row per member, variant column `arm`, A the baseline, B the candidate."""


def run(*args: Any) -> Result:
    """`sop check-data ARGS` (each argument as text) on the real root app."""
    from sopflow.cli import main

    return CliRunner().invoke(main.app, ["check-data", *map(str, args)])


def run_json(*args: Any) -> dict[str, Any]:
    """`sop check-data ARGS --json`, which must succeed, parsed."""
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_one_line_error(result: Result, message: str) -> None:
    """A user error: exit code 2, no traceback, one `sop: error: ` line holding `message`."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sop: error: ")
    assert message in lines[0]
