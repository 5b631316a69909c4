"""The CLI starts without the heavy libraries; packages import their submodules on first use.

Each check runs in a fresh interpreter: in the test process everything is imported already.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mombaby-refined.yaml"
HEAVY = ["scipy", "numpy", "duckdb", "pyarrow", "prefect", "sqlalchemy", "sqlmodel", "git"]
LAZY_PACKAGES = [
    "engine.stats",
    "engine.planner",
    "engine.channels",
    "engine.kpi",
    "engine.events",
    "engine.ledger",
    "engine.wecom",
    "simulator",
]

# Prints, as JSON, which of the modules named in argv[1] (a JSON list) the code before it loaded.
_REPORT = """
import json, sys
print(json.dumps(sorted(name for name in json.loads(sys.argv[1]) if name in sys.modules)))
"""


def _loaded_after(code: str, watched: list[str]) -> list[str]:
    """Run `code` in a fresh interpreter; the `watched` modules it left in sys.modules."""
    done = subprocess.run(
        [sys.executable, "-c", code + _REPORT, json.dumps(watched)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def _invoke(args: list[str]) -> str:
    """Code that runs `sop ARGS` in-process, the way the console script does."""
    return (
        "from sopflow.cli.main import app\n"
        "try:\n"
        f"    app({args!r}, prog_name='sop')\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
    )


def test_importing_the_cli_entry_module_loads_no_heavy_library() -> None:
    assert _loaded_after("import sopflow.cli.main", HEAVY) == []


def test_sop_help_loads_no_heavy_library_and_no_command_module() -> None:
    from sopflow.cli.main import COMMAND_MODULES

    commands = [f"sopflow.cli.{name}" for name in COMMAND_MODULES]
    assert _loaded_after(_invoke(["--help"]), HEAVY + commands) == []


def test_sop_validate_loads_no_heavy_library() -> None:
    assert _loaded_after(_invoke(["validate", str(EXAMPLE)]), HEAVY) == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_package_imports_its_submodules_on_first_use(package: str) -> None:
    submodules = [f"{package}.{name}" for name in _submodules(package)]
    assert _loaded_after(f"import {package}", HEAVY + submodules) == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        getattr(module, name)
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError):
        _ = module.no_such_name


def _submodules(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
