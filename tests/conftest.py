"""Shared fixtures (from tests/support) and the tier markers; tests/README.md explains both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.isolation",  # first: sets PREFECT_HOME before anything imports Prefect
    "tests.support.pg_cluster",
    "tests.support.prefect_server",
    "tests.support.workspaces",
    "tests.support.clock",  # --clock INSTANT: the suite at a chosen wall-clock time
]

E2E = Path(__file__).parent / "e2e"
POSTGRES_FIXTURES = {"pg_cluster", "postgres_url"}


@pytest.fixture(autouse=True)
def _chinese_by_default() -> Iterator[None]:
    """Each test starts in the default language (opening a workspace sets its `language`)."""
    from sop_models.i18n import DEFAULT, use_language

    with use_language(DEFAULT):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e `e2e`, and every test on PostgreSQL `postgres`."""
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        on_postgres = getattr(item, "callspec", None) and item.callspec.params.get("db_url")
        if on_postgres == "postgres" or POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
