"""Run every benchmark and print one table (Markdown) of figures, baselines and ratios."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time

from bench.table import Row, render

SUITES = [
    "cli_startup",
    "store_bench",
    "shared_store_bench",
    "kpi_bench",
    "planner_bench",
    "dispatch_bench",
    "console_bench",
    "check_data_bench",
    "winsor_bench",
    "wecom_shared_bench",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", help="run only these suites")
    args = parser.parse_args()
    rows: list[Row] = []
    started = time.perf_counter()
    for name in args.only or SUITES:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", flush=True)
        rows.extend(module.run(**({"quick": True} if args.quick and _takes_quick(module) else {})))
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(render(rows))
    print(f"\ntotal bench time: {time.perf_counter() - started:.0f} s")


def _takes_quick(module: object) -> bool:
    import inspect

    return "quick" in inspect.signature(module.run).parameters  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
