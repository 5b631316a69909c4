"""`sop run`'s text summary: posts skipped at WeCom's cap, a 45009 block's retry time and the
follow-ups of unconfirmed mass sends each get their line."""

from __future__ import annotations

from typing import Any

import pytest

from sopflow.cli.run_cmd import _print_summary


def summary(**extra: Any) -> dict[str, Any]:
    totals = {"planned": 3, "sent": 1, "failed": 0, "unknown": 0, "awaiting": 0, "skipped": 0}
    return {
        "day": "2026-09-08", "planned": 3, "batches": 1, "warnings": [], "actions": [],
        "later": 0, "now": "2026-09-08T10:05:00+08:00", "attention": [],
        "missed": {"count": 0, "earliest_due": None, "window_minutes": 120},
        "late": {"count": 0, "earliest_due": None, "sent_at": None},
        "totals": {**totals, "refused": 0}, **extra,
    }  # fmt: skip


def test_skips_blocks_and_follow_ups_are_reported_on_their_own_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
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
    _print_summary(data, name="mature_day", where="Prefect", dry_run=False)
    out = capsys.readouterr().out
    assert "  skipped at WeCom's mass-message cap: 1 action(s), not sent and not retried" in out
    assert (
        "  blocked by WeCom until 2026-09-08 11:05: 2 action(s) left pending for the next run"
        in out
    )
    assert "  unconfirmed mass sends: reminded 1, cancelled 2, still waiting 0 (see" in out


def test_a_quiet_run_prints_none_of_those_lines(capsys: pytest.CaptureFixture[str]) -> None:
    _print_summary(summary(blocked={"count": 0, "retry_at": None}, follow_up=None),
                   name="mature_day", where="Prefect", dry_run=False)  # fmt: skip
    out = capsys.readouterr().out
    assert "WeCom" not in out and "unconfirmed" not in out
