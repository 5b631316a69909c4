"""`sop doctor`'s Prefect lines: the server, the work pool and its workers.

A worker counts as healthy when its last heartbeat is at most three of its heartbeat
intervals old (at least 90 s): Prefect's own rule for marking a worker offline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from services.doctor import Check
from sop_models.errors import one_line

HEALTH_TIMEOUT = 5.0
MIN_HEARTBEAT_AGE = timedelta(seconds=90)


def check_server(url: str | None) -> Check:
    """PREFECT_API_URL answers /health, or ephemeral mode (no server) is noted."""
    if not url:
        return Check(
            True,
            "prefect: ephemeral mode (no PREFECT_API_URL: flows run inside each command; "
            "workers need a server)",
        )
    where = url.rstrip("/")
    try:
        response = httpx.get(f"{where}/health", timeout=HEALTH_TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as err:
        cause = one_line(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
        return Check(
            False,
            f"prefect: server at {where} does not answer ({cause})",
            "start it (`prefect server start`) or correct PREFECT_API_URL",
        )
    return Check(True, f"prefect: server at {where} answers")


def _client(url: str) -> object:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    key = api.key.get_secret_value() if api.key else None
    auth = api.auth_string.get_secret_value() if api.auth_string else None
    return SyncPrefectClient(url, api_key=key, auth_string=auth)


def check_pool(url: str | None, pool: str | None, *, now: datetime) -> list[Check]:
    """The work pool exists and at least one of its workers sent a recent heartbeat."""
    if not pool:
        return [Check(True, "work pool: none named (sop serve runs deployments in its process)")]
    if not url:
        return [
            Check(
                False,
                f"work pool {pool}: no Prefect server to ask (ephemeral mode)",
                "set PREFECT_API_URL to the server the workers use",
            )
        ]
    from prefect.exceptions import ObjectNotFound

    try:
        with _client(url) as client:  # type: ignore[attr-defined]
            try:
                found = client.read_work_pool(pool)
            except ObjectNotFound:
                return [
                    Check(
                        False,
                        f"work pool {pool}: does not exist on {url.rstrip('/')}",
                        f"register the deployments: sop serve --work-pool {pool}",
                    )
                ]
            workers = client.read_workers_for_work_pool(pool)
    except httpx.HTTPError as err:
        return [
            Check(
                False,
                f"work pool {pool}: cannot ask the server ({one_line(err)})",
                "see the prefect line above",
            )
        ]
    checks = [Check(True, f"work pool {pool}: exists (type {found.type})")]
    healthy = sorted(worker.name for worker in workers if _recent(worker, now))
    if not healthy:
        return [
            *checks,
            Check(
                False,
                f"workers of {pool}: none with a recent heartbeat ({len(workers)} known)",
                f"start one: sop worker --pool {pool}",
            ),
        ]
    names = ", ".join(healthy)
    return [*checks, Check(True, f"workers of {pool}: {len(healthy)} online ({names})")]


def _recent(worker: object, now: datetime) -> bool:
    beat = getattr(worker, "last_heartbeat_time", None)
    if beat is None:
        return False
    interval = getattr(worker, "heartbeat_interval_seconds", None) or 30
    return now - beat <= max(MIN_HEARTBEAT_AGE, timedelta(seconds=3 * interval))
