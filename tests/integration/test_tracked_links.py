"""Tracked links: rewritten text, /r/TOKEN redirects, one click per visitor, robots ignored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from services.kpis import event_store
from services.tracked_links import click, clicks_by_message, rewrite_links
from services.workspace import Workspace
from tests.support.console import client

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
KEY = "mombaby-refined:2.0:columns.evening:2026-09-01"  # a message key
TEXT = "今晚福利 👉 https://shop.example.com/coupon?id=7 先到先得，详情 https://example.com/a"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) wxwork/4.1 MicroMessenger"


def _rewrite(ws: Workspace) -> list[str]:
    text = rewrite_links(
        ws, text=TEXT, message_key=KEY, group_id="g-001", sop_id="mombaby-refined",
        version="2.0", base_url="https://ops.example.com/", now=NOW,
    )  # fmt: skip
    assert text.startswith("今晚福利 👉 https://ops.example.com/r/")
    assert "shop.example.com" not in text and "先到先得" in text
    return re.findall(r"/r/([\w-]+)", text)


def _click_events(ws: Workspace) -> list[tuple]:
    con = duckdb.connect()
    try:
        rel = event_store(ws).relation(con)
        return con.execute(
            f'SELECT "group", member, event, sop_version FROM ({rel.sql_query()})'
            " WHERE event = 'click'"
        ).fetchall()
    finally:
        con.close()


def test_each_link_gets_its_own_unguessable_token_without_personal_data(
    workspace: Workspace,
) -> None:
    tokens = _rewrite(workspace)
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert all(len(token) >= 22 for token in tokens)  # 128 random bits
    assert all("g-001" not in token and "mombaby" not in token for token in tokens)


def test_a_click_twice_by_one_visitor_counts_once_and_redirects_both_times(
    workspace: Workspace,
) -> None:
    token = _rewrite(workspace)[0]
    with client(workspace) as web:
        for _ in range(2):
            answer = web.get(f"/r/{token}", headers={"user-agent": PHONE})
            assert answer.status_code == 302
            assert answer.headers["location"] == "https://shop.example.com/coupon?id=7"
    assert clicks_by_message(workspace) == {KEY: 1}
    [(group, member, event, version)] = _click_events(workspace)
    assert (group, event, version) == ("g-001", "click", "2.0")
    assert member.startswith("anon-") and "testclient" not in member


def test_one_member_clicking_from_two_addresses_counts_once(workspace: Workspace) -> None:
    token = _rewrite(workspace)[0]
    for n, address in enumerate(("10.0.0.1", "10.0.0.2")):
        url = click(
            workspace, token=token, member="m-42", address=address, user_agent=PHONE,
            now=NOW + timedelta(minutes=n),
        )  # fmt: skip
        assert url == "https://shop.example.com/coupon?id=7"
    assert clicks_by_message(workspace) == {KEY: 1}
    assert _click_events(workspace) == [("g-001", "m-42", "click", "2.0")]


@pytest.mark.parametrize(
    "agent",
    ["Mozilla/5.0 (compatible; Googlebot/2.1)", "curl/8.5.0", "python-httpx/0.27", ""],
)
def test_robots_are_redirected_but_record_no_click(workspace: Workspace, agent: str) -> None:
    token = _rewrite(workspace)[0]
    with client(workspace) as web:
        assert web.get(f"/r/{token}", headers={"user-agent": agent}).status_code == 302
    assert clicks_by_message(workspace) == {}
    assert _click_events(workspace) == []


def test_an_unknown_token_is_404(workspace: Workspace) -> None:
    with client(workspace) as web:
        assert web.get("/r/not-a-token", headers={"user-agent": PHONE}).status_code == 404
