"""`sop run`'s text summary: posts skipped at WeCom's cap, a 45009 block's retry time and the
follow-ups of unconfirmed mass sends each get their line; Chinese by default, English when set."""

from __future__ import annotations

from typing import Any

import pytest

from sop_models.i18n import use_language
from sopflow.cli.run_text import print_summary


def summary(**extra: Any) -> dict[str, Any]:
    totals = {"planned": 3, "sent": 1, "failed": 0, "unknown": 0, "awaiting": 0, "skipped": 0}
    return {
        "day": "2026-09-08", "planned": 3, "batches": 1, "warnings": [], "actions": [],
        "later": 0, "now": "2026-09-08T10:05:00+08:00", "attention": [],
        "missed": {"count": 0, "earliest_due": None, "window_minutes": 120},
        "late": {"count": 0, "earliest_due": None, "sent_at": None},
        "totals": {**totals, "refused": 0}, **extra,
    }  # fmt: skip


def _eventful() -> dict[str, Any]:
    data = summary(
        blocked={"count": 2, "retry_at": "2026-09-08T11:05:00+08:00"},
        follow_up={
            "confirmed": [],
            "reminded": ["a"],
            "cancelled": ["b", "c"],
            "waiting": [],
            "error": "",
        },
    )
    data["totals"]["refused"] = 1
    return data


def test_skips_blocks_and_follow_ups_are_reported_on_their_own_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_summary(_eventful(), name="mature_day", where="Prefect", dry_run=False)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "mature_day 2026-09-08（Prefect）：3 条，共 1 批"
    assert "  已发 1，失败 0，未知 0，待确认 0，此前已发 0" in out
    assert "  达到企业微信群发上限而跳过：1 条，未发送且不再重试" in out
    assert "  企业微信限流至 2026-09-08 11:05：2 条留待下次运行发送" in out
    assert "  未确认的群发：已提醒 1，已取消 2，仍在等待 0（见" in out


def test_the_summary_is_in_english_when_the_language_is_english(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with use_language("en"):
        print_summary(_eventful(), name="mature_day", where="Prefect", dry_run=False)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "mature_day 2026-09-08 via Prefect: 3 action(s) in 1 batch(es)"
    assert "  sent 1, failed 0, unknown 0, awaiting confirmation 0, already sent before 0" in out
    assert "  skipped at WeCom's mass-message cap: 1 action(s), not sent and not retried" in out
    assert (
        "  blocked by WeCom until 2026-09-08 11:05: 2 action(s) left pending for the next run"
        in out
    )
    assert "  unconfirmed mass sends: reminded 1, cancelled 2, still waiting 0 (see" in out


def test_missed_late_and_attention_lines_in_both_languages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = summary(
        later=2,
        missed={"count": 1, "earliest_due": "2026-09-08T07:00:00+08:00", "window_minutes": 120},
        late={
            "count": 1,
            "earliest_due": "2026-09-08T08:00:00+08:00",
            "sent_at": "2026-09-08T10:05:00+08:00",
        },
        attention=[{"group": "g1", "planned": 3, "sent": 1, "failed": 2, "unknown": 0}],
    )
    print_summary(data, name="mature_day", where="Prefect", dry_run=False)
    chinese = capsys.readouterr()
    assert "  10:05 尚未到点：2 条，留给各自的定时运行" in chinese.out
    assert "  已错过：1 条在 10:05 之前超过 120 分钟到点（最早 07:00），未发送" in chinese.out
    assert "  迟发：1 条晚于计划时间发出（最早应发 2026-09-08 08:00，实发 2026-09-08 10:05）" in (
        chinese.out
    )
    assert "  需处理：g1             计划   3  已发   1  失败   2  未知   0" in chinese.out
    assert "详见 `sop deliveries --since 2026-09-08`" in chinese.err
    with use_language("en"):
        print_summary(data, name="mature_day", where="Prefect", dry_run=True)
    english = capsys.readouterr().out
    assert english.splitlines()[0].endswith("1 batch(es) (dry run, nothing sent)")
    assert "  not due yet at 10:05: 2 action(s), left to their scheduled runs" in english
    assert "  missed: 1 action(s) due more than 120 min before 10:05 (earliest 07:00)" in english
    assert "  late: 1 action(s) sent after their time (earliest due 2026-09-08 08:00" in english
    assert "  needs attention: g1             planned   3  sent   1" in english


def test_a_quiet_run_prints_none_of_those_lines(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(summary(blocked={"count": 0, "retry_at": None}, follow_up=None),
                  name="mature_day", where="Prefect", dry_run=False)  # fmt: skip
    out = capsys.readouterr().out
    assert "企业微信" not in out and "未确认" not in out and "需处理" not in out
