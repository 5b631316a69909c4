"""The clock `--clock` sets (tests/support/clock.py), shared with spawned test children."""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from datetime import UTC, datetime
from typing import Any

OFFSET_ENV = "SOPFLOW_TEST_CLOCK_OFFSET"
_freezer: Any = None
# Libraries that subclass or cache the datetime types when imported: importing them under
# freezegun's classes crashes the interpreter (pandas, which statsmodels loads), warns of a
# binary incompatibility (pyarrow's Cython modules) or fails (pendulum's DateTime and
# pydantic.v1's dates, which Prefect loads, get a metaclass conflict). Our own packages are
# imported first too, so their lazy imports of these happen before the clock stops.
_IMPORT_FIRST = (
    *("pandas", "pyarrow.parquet", "pyarrow.csv", "pyarrow.compute", "pyarrow.dataset"),
    "duckdb",
    *("pendulum", "pydantic.v1", "prefect"),
)
_OUR_PACKAGES = (
    *("sop_models", "versions", "engine", "simulator", "report", "services", "flows", "sopflow"),
)


def start(instant: datetime | None = None, *, offset: float = 0.0) -> None:
    """Freeze the clock at `instant` (or `offset` seconds from the real time, once the slow
    imports are done) and let it tick; children spawned later follow it."""
    global _freezer
    import freezegun
    from freezegun import freeze_time

    # freezegun gives real time to calls made within a few frames of `threading`,
    # `multiprocessing` or `queue`: a function a worker thread runs (the console's store
    # refresh) would mix real and frozen clocks. With the clock ticking, none needs that.
    # Its `gi` (PyGObject) is a prefix that also matches GitPython's `git`: commit dates.
    faked_too = ("threading", "multiprocessing", "queue", "gi")
    ignored = [name for name in freezegun.config.DEFAULT_IGNORE_LIST if name not in faked_too]
    freezegun.configure(default_ignore_list=ignored)

    _teach_pydantic()
    _teach_yaml()
    for name in _IMPORT_FIRST:
        importlib.import_module(name)
    for package in _OUR_PACKAGES:
        path = importlib.import_module(package).__path__
        for module in pkgutil.walk_packages(path, prefix=f"{package}."):
            importlib.import_module(module.name)
    real = time.time()
    instant = instant or datetime.fromtimestamp(real + offset, UTC)
    os.environ[OFFSET_ENV] = str(instant.timestamp() - real)
    _freezer = freeze_time(instant, tick=True)
    _freezer.start()


def _teach_pydantic() -> None:
    """Models defined while frozen see `datetime`/`date` as freezegun's subclasses; pydantic
    then needs to be told they validate as the real types (SQLModel maps them by subclass)."""
    from freezegun.api import FakeDate, FakeDatetime
    from pydantic_core import core_schema

    def schema(make: Any) -> Any:
        return classmethod(lambda cls, source, handler: make())

    FakeDatetime.__get_pydantic_core_schema__ = schema(core_schema.datetime_schema)  # type: ignore[attr-defined]
    FakeDate.__get_pydantic_core_schema__ = schema(core_schema.date_schema)  # type: ignore[attr-defined]


def _teach_yaml() -> None:
    """YAML dates load as freezegun's classes while frozen; PyYAML's dumpers pick a representer
    by exact type, so each dumper that can write a date learns the fake ones too."""
    from datetime import date, datetime

    import yaml
    from freezegun.api import FakeDate, FakeDatetime

    pending: list[type] = [yaml.representer.BaseRepresenter]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        own = cls.__dict__.get("yaml_representers", {})
        for real, fake in ((date, FakeDate), (datetime, FakeDatetime)):
            if real in own:
                own[fake] = own[real]


def stop() -> None:
    global _freezer
    if _freezer is not None:
        _freezer.stop()
        _freezer = None
        os.environ.pop(OFFSET_ENV, None)


def follow_parent_clock() -> None:
    """In a spawned test child: run on the parent's `--clock` (same offset from real time)."""
    offset = os.environ.get(OFFSET_ENV)
    if offset is not None and _freezer is None:
        start(offset=float(offset))
