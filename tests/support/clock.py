"""Pytest plugin: `--clock INSTANT` runs the suite as if the wall clock read INSTANT.

`pytest -m "not e2e" --clock 2026-12-31T16:30:00Z` starts freezegun at INSTANT with
`tick=True` (time moves on from there at its real pace) before collection, so module-level
`date.today()` sees it too, and stops it at the end of the session. It covers everything in
this process: `datetime.now`, `date.today`, `time.time`, `time.monotonic`, GitPython's
commit dates, SQLAlchemy and DuckDB parameters.

It cannot reach other programs. Test children started with multiprocessing's `spawn` follow
the same clock (`tests/__init__.py` calls `frozen_clock.follow_parent_clock`: the parent hands
its offset down in SOPFLOW_TEST_CLOCK_OFFSET); the `git`, `sop` and PostgreSQL processes keep the
real time (git CLI dates, `now()` in PostgreSQL). The e2e tier (a Prefect server, CLI
subprocesses, Chromium) runs on the real clock and is deselected under `--clock`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support import frozen_clock


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="INSTANT",
        default=None,
        help="run as if the wall clock read INSTANT (ISO 8601 with a zone, e.g. "
        "2026-12-31T16:30:00Z); time ticks on from there. Deselects the e2e tier.",
    )


def parse_instant(text: str) -> datetime:
    """The instant `--clock` names; it must carry a zone so it means one moment."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise pytest.UsageError(f"--clock: not an ISO 8601 instant: {text!r}") from exc
    if instant.utcoffset() is None:
        raise pytest.UsageError(f"--clock: {text!r} needs a zone (Z or +08:00)")
    return instant.astimezone(UTC)


@pytest.hookimpl(trylast=True)  # after tests.support.isolation has set PREFECT_HOME
def pytest_configure(config: pytest.Config) -> None:
    text = config.getoption("--clock")
    if text:
        frozen_clock.start(parse_instant(text))


def pytest_unconfigure(config: pytest.Config) -> None:
    frozen_clock.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    text = config.getoption("--clock")
    return f"clock: {parse_instant(text).isoformat()} (ticking; e2e deselected)" if text else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--clock"):
        return
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if e2e:
        config.hook.pytest_deselected(items=e2e)
        items[:] = [item for item in items if not item.get_closest_marker("e2e")]
