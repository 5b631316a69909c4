"""Evidence in the console: a version page shows it as the approvals inbox does (forest chart,
metric table, reasons, SRM), Chinese intact; the history page names each version's changelog
line and a short evidence summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.workspace import Workspace
from tests.support.console import T0, client, log_in, with_accounts, with_versions
from versions import services

SOP = "mombaby-refined"
SUMMARY = "v2.0：新欢迎语 — 欢迎语打开率 +18.0%（20.0% → 23.6%）"
REASON = "主指标欢迎语打开率显著提升"


def _metric(name: str, role: str, rel: float) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "baseline": {"n": 8, "value": 0.2},
        "candidate": {"n": 8, "value": 0.236},
        "abs_lift": 0.036,
        "rel_lift": rel,
        "ci_rel": [0.091, 0.274],
        "p_value": 0.0123,
    }


CHECK: dict[str, Any] = {
    "summary": SUMMARY,
    "decision": "PROMOTE",
    "window": ["2026-09-01", "2026-09-15"],
    "groups_per_arm": [8, 8],
    "production": "1.0",
    "candidate": "2.0",
    "check": {
        "decision": "PROMOTE",
        "reasons": [REASON],
        "srm": {
            "p_value": 0.81,
            "ok": True,
            "baseline_n": 8,
            "candidate_n": 8,
            "expected_share": 0.5,
            "observed_share": 0.5,
        },
        "metrics": [_metric("welcome_open_rate", "primary", 0.18)],
    },
}
BY_HAND = {"来源": "数据组手工核对", "结论": "投诉减少"}


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    with_versions(with_accounts(workspace))
    for record in (BY_HAND, CHECK):  # the check's the newest
        services.attach_evidence(
            workspace.uow(), sop_id=SOP, version="2.0", actor="数据组", evidence=record, now=T0
        )
    return workspace


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        log_in(c, "李经理")
        yield c


def test_a_version_page_shows_check_evidence_like_the_inbox_with_chinese_intact(
    web: TestClient,
) -> None:
    html = web.get(f"/sops/{SOP}/v/2.0").text
    assert "\\u" not in html
    assert SUMMARY in html and REASON in html
    assert '<svg class="chart forest"' in html  # the inbox's forest chart
    assert "<td>欢迎语打开率</td>" in html  # the metric table, the metric's Chinese label
    assert "<td>+18.0%</td>" in html and "<td>[+9.1%, +27.4%]</td>" in html
    assert "2026-09-01 .. 2026-09-14" in html  # the window's last day (its end is exclusive)
    assert "样本比例检验：p = 0.8100" in html  # SRM


def test_evidence_attached_by_hand_shows_as_json_with_chinese_intact(web: TestClient) -> None:
    html = web.get(f"/sops/{SOP}/v/2.0").text
    assert "&#34;来源&#34;: &#34;数据组手工核对&#34;" in html or '"来源": "数据组手工核对"' in html
    assert "\\u6570" not in html


def test_history_lists_changelog_lines_and_a_short_evidence_summary(web: TestClient) -> None:
    html = web.get(f"/sops/{SOP}").text
    row = html.split(f'href="/sops/{SOP}/v/2.0"', 1)[1].split("</tr>", 1)[0]
    assert "新欢迎语" in row  # v2.0's changelog line as saved
    assert SUMMARY in row  # the newest evidence's summary
    assert "(+1)" in row  # and one more record (attached by hand)
    first = html.split(f'href="/sops/{SOP}/v/1.0"', 1)[1].split("</tr>", 1)[0]
    assert "首版" in first and "v2.0：" not in first
