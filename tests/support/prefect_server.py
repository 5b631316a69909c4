"""Pytest plugin: one real Prefect server for the whole test session.

Listed in `tests/conftest.py` `pytest_plugins`. It must be the ONLY Prefect harness in the
session: do not use `prefect_test_harness()` or start another server inside a test, because
Prefect's settings are process-global and a nested harness would redirect every later flow run.
Tests that run flows request `prefect_server` (or `prefect_api_url`); nothing starts until a
test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flows.runtime import PrefectServer, drain_prefect_workers, prefect_environment


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real `prefect server start` on a free port; the session's env points Prefect at it.

    While it lives, `os.environ` holds PREFECT_HOME, PREFECT_API_URL and the rest of
    `prefect_env()`, and Prefect's global settings are refreshed, so flows run in this process,
    in threads and in served subprocesses all report to this server. Restored afterwards.
    """
    home = tmp_path_factory.mktemp("prefect-home")
    server = PrefectServer(home)
    # The server marks a run Late 2 s past its time (Prefect: 15 s), looking every second
    # (5 s): the late-run alert test waits for that twice, and the rule is Prefect's, not ours.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS", "2")
        patch.setenv("PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS", "1")
        server.start()
    try:
        # A fast runner poll keeps run_deployment() against served deployments quick.
        with prefect_environment(server.env(PREFECT_RUNNER_POLL_FREQUENCY="1")):
            yield server
            drain_prefect_workers()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prefect_api_url(prefect_server: PrefectServer) -> str:
    """The API URL of the session's Prefect server."""
    return prefect_server.api_url
