"""The week view marks exactly the posts the planner moved or found colliding: a post
deferred out of quiet hours and two posts closer than the gap; a post that only carries
channel extras (a news card's link) is listed plainly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.groups import add_group
from services.workspace import Workspace
from tests.support.console import T0, client, log_in, with_accounts
from tests.support.examples import example_text, modified
from versions import services

SOP = "mombaby-refined"
MONDAY = "2026-09-07"


def _quiet_noon_and_a_close_evening_post(data: dict[str, Any]) -> None:
    schedule = data["schedule"]
    schedule["quiet_hours"] = {"start": "14:30", "end": "16:00"}  # 15:00 topic -> 16:00
    schedule["columns"] += [
        {"id": "noon-news", "name": "午间阅读", "time": "12:00", "days": "workdays",
         "template": "reading-kickoff"},  # a news card: link extras, nothing moved
        {"id": "evening-extra", "name": "晚间加场", "time": "20:10", "days": "workdays",
         "template": "topic", "content_tag": "202503 促活-妈妈话题-图文"},
        # ^ 10 min after the 20:00 welfare post: a collision
    ]  # fmt: skip


@pytest.fixture
def web(workspace: Workspace) -> Iterator[TestClient]:
    ws = with_accounts(workspace)
    services.save_version(
        ws.uow(),
        text=modified(example_text(SOP), _quiet_noon_and_a_close_evening_post),
        source="m.yaml",
        author="小王",
        message="首版",
        major=False,
        now=T0,
    )
    services.promote(
        ws.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=ws.policy, now=T0
    )
    with ws.session() as session:
        add_group(session, id="g1", name="一群", sop_id=SOP, owner="小王", now=T0)
        session.commit()
    with client(ws) as c:
        log_in(c, "李经理")
        yield c


def _rows(html: str, day: str) -> list[tuple[bool, str]]:
    """(marked, row html) of one day's table."""
    section = html.split(f'id="d-{day}"', 1)[1].split("</section>", 1)[0]
    return [
        (bool(attrs and "marked" in attrs), body)
        for attrs, body in re.findall(r"<tr( class=\"[^\"]*\")?><td>(.*?)</tr>", section, re.S)
    ]


def test_quiet_hour_moves_and_collisions_are_marked_and_nothing_else(web: TestClient) -> None:
    rows = _rows(web.get(f"/sops/{SOP}/week?group=g1&start={MONDAY}").text, MONDAY)
    marked = {body[:5] for is_marked, body in rows if is_marked}
    plain = {body[:5] for is_marked, body in rows if not is_marked}
    assert marked == {"16:00", "20:00", "20:10"}  # deferred topic; the two close posts
    assert {"10:00", "12:00"} <= plain  # a plain post and the news card (its link extras)
    noon = next(body for _, body in rows if body.startswith("12:00"))
    assert "news_url: https://example.com/mombaby/reading-21" in noon  # its extras still shown
    deferred = next(body for _, body in rows if body.startswith("16:00"))
    assert "quiet_hours: deferred from 15:00" in deferred
