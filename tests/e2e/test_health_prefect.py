"""Health against a real Prefect server: `sop doctor`'s server, pool and worker lines, and the
late-run automation calling a webhook that names the late deployment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.states import Cancelled
from pydantic import SecretStr

from flows.alerts import AUTOMATION_NAME, ensure_late_run_alert
from flows.runtime import PrefectServer
from services.doctor import Check, run_checks
from services.settings import Settings
from services.workspace import Workspace
from tests.support.waiting import wait_until
from tests.support.wecom_fake import FakeWeCom

ROBOT_KEY = "fake-robot-key-0001"  # FakeWeCom's default robot


class Received:
    """A local HTTP server standing in for the ops webhook; keeps every POSTed body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.bodies.append(self.rfile.read(length))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Received]:
    received = Received()
    try:
        yield received
    finally:
        received.close()


def _state(client: Any, run_id: UUID) -> str | None:
    state = client.read_flow_run(run_id).state
    return state.name if state else None


def _pool(name: str) -> None:
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def _pool_lines(ws: Workspace, url: str, pool: str) -> list[Check]:
    found = run_checks(
        ws, today=date(2026, 3, 2), now=datetime.now(UTC), prefect_url=url, pool=pool
    )
    return [c for c in found if c.what.startswith(("prefect", "work pool", "workers"))]


def test_doctor_sees_the_server_then_a_missing_pool_a_pool_without_workers_and_a_live_worker(
    prefect_server: PrefectServer, workspace: Workspace
) -> None:
    url = prefect_server.api_url
    pool = f"doctor-{uuid4().hex[:8]}"

    server, missing = _pool_lines(workspace, url, pool)
    assert server.ok and server.what == f"prefect: {url} 的服务器有响应"
    assert not missing.ok and missing.what == f"work pool {pool}: 在 {url} 上不存在"
    assert missing.fix == f"注册部署：sop serve --work-pool {pool}"

    _pool(pool)
    _, exists, idle = _pool_lines(workspace, url, pool)
    assert exists.ok and exists.what == f"work pool {pool}: 存在（类型 process）"
    assert not idle.ok and idle.what == f"workers of {pool}: 最近都没有心跳（已知 0 个）"
    assert idle.fix == f"启动一个：sop worker --pool {pool}"

    with get_client(sync_client=True) as client:  # what a worker sends while it polls
        client.send_worker_heartbeat(pool, "machine-a", heartbeat_interval_seconds=30)
    _, _, online = _pool_lines(workspace, url, pool)
    assert online.ok and online.what == f"workers of {pool}: 1 个在线（machine-a）"


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


def test_a_run_no_worker_picks_up_calls_the_webhook_and_the_ops_robot_naming_its_deployment(
    prefect_server: PrefectServer, webhook: Received, wecom: FakeWeCom
) -> None:
    pool = f"no-worker-{uuid4().hex[:8]}"
    _pool(pool)
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("mature_day")
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name="母婴-mature-day",
            work_pool_name=pool,
            entrypoint="flows/playbooks.py:mature_day",
        )
    settings = Settings(
        alert_webhook_url=webhook.url,
        alert_robot="ops",
        robot_keys={"ops": SecretStr(ROBOT_KEY)},
        robot_base_url=wecom.base_url,
    )
    within = timedelta(seconds=10)  # Prefect's shortest for a proactive trigger
    first = ensure_late_run_alert([deployment_id], within=within, settings=settings)
    again = ensure_late_run_alert([deployment_id], within=within, settings=settings)
    assert again != first  # replaced, not added

    with get_client(sync_client=True) as client:
        automations = [a for a in client.read_automations() if a.name == AUTOMATION_NAME]
        assert len(automations) == 1
        # A run that leaves Late in time (here: cancelled) raises nothing.
        handled = client.create_flow_run_from_deployment(deployment_id)
        wait_until(lambda: _state(client, handled.id) == "Late", timeout=120, what="Late")
        client.set_flow_run_state(handled.id, Cancelled(), force=True)
        run = client.create_flow_run_from_deployment(deployment_id)  # due now; no worker polls

    # Prefect marks the run Late (the session server: 2 s past its time), then the trigger
    # waits `within`.
    wait_until(lambda: webhook.bodies, timeout=180, interval=1, what="the late-run webhook call")
    alert = json.loads(webhook.bodies[0].decode("utf-8"))
    assert alert["alert"] == "sopflow.late-run"
    assert alert["deployment"] == "母婴-mature-day"  # Chinese intact
    assert alert["flow_run"] == run.name
    assert "母婴-mature-day" in alert["text"] and "sop doctor" in alert["text"]
    wait_until(lambda: wecom.robot_messages(ROBOT_KEY), timeout=60, what="the robot post")
    ((_, posted),) = wecom.robot_messages(ROBOT_KEY)
    assert posted == {"msgtype": "text", "text": {"content": alert["text"]}}
    assert len(webhook.bodies) == 1  # the cancelled run's window ended long before, silently
