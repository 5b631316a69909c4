"""`sop doctor`'s Prefect lines: the server, the work pool, its workers, and the runs of the
last day that died with their machine and were submitted again (services.pool_runs).

A worker counts as healthy when its last heartbeat is at most three of its heartbeat
intervals old (at least 90 s): Prefect's own rule for marking a worker offline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from services.doctor import Check
from sop_models.errors import one_line
from sop_models.i18n import tr

HEALTH_TIMEOUT = 5.0
MIN_HEARTBEAT_AGE = timedelta(seconds=90)
RECENT = timedelta(days=1)  # runs submitted again within this are reported


def check_server(url: str | None) -> Check:
    """PREFECT_API_URL answers /health, or ephemeral mode (no server) is noted."""
    if not url:
        return Check(
            True,
            tr(
                "prefect: ephemeral mode (no PREFECT_API_URL: flows run inside each command; "
                "workers need a server)"
            ),
        )
    where = url.rstrip("/")
    try:
        response = httpx.get(f"{where}/health", timeout=HEALTH_TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as err:
        cause = one_line(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
        return Check(
            False,
            tr("prefect: server at {url} does not answer ({cause})").format(url=where, cause=cause),
            tr("start it (`prefect server start`) or correct PREFECT_API_URL"),
        )
    return Check(True, tr("prefect: server at {url} answers").format(url=where))


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
        alone = tr("work pool: none named (sop serve runs deployments in its process)")
        return [Check(True, alone)]
    if not url:
        return [
            Check(
                False,
                tr("work pool {pool}: no Prefect server to ask (ephemeral mode)").format(pool=pool),
                tr("set PREFECT_API_URL to the server the workers use"),
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
                        tr("work pool {pool}: does not exist on {url}").format(
                            pool=pool, url=url.rstrip("/")
                        ),
                        tr("register the deployments: {command}").format(
                            command=f"sop serve --work-pool {pool}"
                        ),
                    )
                ]
            workers = client.read_workers_for_work_pool(pool)
            again = _submitted_again(client, pool, since=now - RECENT)
    except httpx.HTTPError as err:
        return [
            Check(
                False,
                tr("work pool {pool}: cannot ask the server ({cause})").format(
                    pool=pool, cause=one_line(err)
                ),
                tr("see the prefect line above"),
            )
        ]
    exists = tr("work pool {pool}: exists (type {kind})").format(pool=pool, kind=found.type)
    checks = [Check(True, exists)]
    healthy = sorted(worker.name for worker in workers if _recent(worker, now))
    if not healthy:
        return [
            *checks,
            Check(
                False,
                tr("workers of {pool}: none with a recent heartbeat ({count} known)").format(
                    pool=pool, count=len(workers)
                ),
                tr("start one: {command}").format(command=f"sop worker --pool {pool}"),
            ),
            _again_check(pool, again),
        ]
    names = ", ".join(healthy)
    online = tr("workers of {pool}: {count} online ({names})")
    return [
        *checks,
        Check(True, online.format(pool=pool, count=len(healthy), names=names)),
        _again_check(pool, again),
    ]


def _submitted_again(client: object, pool: str, *, since: datetime) -> list[str]:
    """Names of the pool's runs of the last day that were submitted again after a crash."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterTags,
        WorkPoolFilter,
        WorkPoolFilterName,
    )

    from services.pool_runs import RESUBMITTED_TAG

    found = client.read_flow_runs(  # type: ignore[attr-defined]
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[RESUBMITTED_TAG]),
            expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
        ),
        work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
    )
    return sorted(run.name for run in found)


def _again_check(pool: str, names: list[str]) -> Check:
    if not names:
        return Check(
            True,
            tr("runs of {pool}: none died with their machine in the last day").format(pool=pool),
        )
    return Check(
        False,
        tr(
            "runs of {pool}: {count} died with their machine in the last day, "
            "submitted again ({names})"
        ).format(pool=pool, count=len(names), names=", ".join(names[:5])),
        tr("find out why the machine died; `sop deliveries attention` lists what needs a person"),
    )


def _recent(worker: object, now: datetime) -> bool:
    beat = getattr(worker, "last_heartbeat_time", None)
    if beat is None:
        return False
    interval = getattr(worker, "heartbeat_interval_seconds", None) or 30
    return now - beat <= max(MIN_HEARTBEAT_AGE, timedelta(seconds=3 * interval))
