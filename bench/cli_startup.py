"""CLI start-up: `sop --help` and `sop validate FILE` as a user runs them, vs `import typer`.

Each figure is the wall time of a fresh process (subprocess.run, output captured), so it
includes the interpreter's start; the baseline is the least any Typer CLI pays:
`python -c "import typer"`. The commands take turns, round by round, so a slow moment of the
machine falls on all of them alike. Run alone: `python -m bench.cli_startup [--quick]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.table import Row, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = Path("examples") / "mombaby-refined.yaml"
ROUNDS = 21
TARGET_MS = 500


def sop_command() -> list[str]:
    """The installed `sop` console script next to this interpreter, else the same entry point."""
    script = Path(sys.executable).with_name("sop")
    if script.exists():
        return [str(script)]
    found = shutil.which("sop")
    return [found] if found else [sys.executable, "-c", "from sopflow.cli.main import run; run()"]


def wall_ms(argv: list[str]) -> float:
    """Wall time of one run of `argv` in milliseconds; it must succeed."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
    return (time.perf_counter() - start) * 1000


def measure(commands: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """`rounds` timings of each command, taking turns; one untimed warm-up round first."""
    for argv in commands.values():
        wall_ms(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            samples[name].append(wall_ms(argv))
    return samples


def run(quick: bool = False) -> list[Row]:
    """`sop --help` and `sop validate FILE` against `import typer`, median and min of 21
    (quick: 5) fresh processes each."""
    rounds = 5 if quick else ROUNDS
    sop = sop_command()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import typer": [sys.executable, "-c", "import typer"],
        "sop --help": [*sop, "--help"],
        f"sop validate {EXAMPLE}": [*sop, "validate", str(EXAMPLE)],
    }
    samples = measure(commands, rounds)
    median = {name: statistics.median(values) for name, values in samples.items()}
    least = {name: min(values) for name, values in samples.items()}
    base = "import typer"
    rows = []
    for name in list(commands)[2:]:
        rows.append(
            Row(
                name=f"{name}, fresh process (median of {rounds})",
                figure=median[name],
                unit="ms",
                baseline_name=f'python -c "{base}"',
                baseline=median[base],
                target=f"< {TARGET_MS} ms",
                note=(
                    f"min {least[name]:.0f} ms vs {least[base]:.0f} ms "
                    f"({least[name] / least[base]:.2f}x); bare interpreter "
                    f"(python -c pass) median {median['python -c pass']:.0f} ms"
                ),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 21")
    print(render(run(quick=parser.parse_args().quick)))


if __name__ == "__main__":
    main()
