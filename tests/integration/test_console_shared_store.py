"""The console on one machine of a shared store (`store_url`) shows what another machine
promoted on its next page load, re-syncing at most once per `web_store_refresh_seconds`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.workspace import Workspace, init_workspace
from tests.support.console import T0, client, log_in, with_accounts
from tests.support.examples import example_text, modified
from tests.support.workspaces import in_production
from versions import services

SOP = "mombaby-refined"


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[tuple[Workspace, Workspace]]:
    """Machines A and B: two workspace caches on one file:// store and one database."""
    url, db = f"file://{tmp_path}/shared/store.git", f"sqlite:///{tmp_path / 'shared.db'}"
    a = init_workspace(tmp_path / "a", store_url=url, database_url=db)
    b = init_workspace(tmp_path / "b", store_url=url, database_url=db)
    with_accounts(a)
    in_production(a, SOP, now=T0)  # v1.0 in production
    v1_1 = modified(example_text(SOP), lambda data: data.update(title="第二版"))
    services.save_version(
        a.uow(), text=v1_1, source="m.yaml", author="小王", message="第二版", major=False,
        now=T0,
    )  # fmt: skip
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def with_refresh(ws: Workspace, seconds: float) -> Workspace:
    """Machine `ws` serving the console with `web_store_refresh_seconds = seconds`."""
    settings = ws.settings.model_copy(update={"web_store_refresh_seconds": seconds})
    return Workspace(ws.root, settings)


def production_shown(html: str) -> str:
    row = re.search(rf"{SOP}.*?<td>(v[\d.]+|-)</td>", html, re.S)
    assert row, html
    return row.group(1)


def promote_on(ws: Workspace, version: str) -> None:
    services.promote(
        ws.uow(), sop_id=SOP, version=version, approver="李经理", policy=ws.policy, now=T0
    )


def test_the_console_on_machine_b_shows_what_machine_a_promoted_on_its_next_page_load(
    machines: tuple[Workspace, Workspace],
) -> None:
    a, b = machines
    console = with_refresh(b, 0)
    web = client(console)
    log_in(web, "李经理")
    assert production_shown(web.get("/").text) == "v1.0"
    promote_on(a, "1.1")
    assert production_shown(web.get("/").text) == "v1.1"
    console.close()


def test_the_console_syncs_its_mirror_at_most_once_per_refresh_interval(
    machines: tuple[Workspace, Workspace],
) -> None:
    a, b = machines
    console = with_refresh(b, 3600)
    web = client(console)
    log_in(web, "李经理")
    assert production_shown(web.get("/").text) == "v1.0"
    promote_on(a, "1.1")
    assert production_shown(web.get("/").text) == "v1.0"  # synced at start-up, not due yet
    console.close()
