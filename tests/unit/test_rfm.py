"""Month-end RFM member lists (engine/rfm.py) from generated events, with known segments."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from engine.rfm import score_members
from sop_models import RfmTask
from tests.support.examples import example

DAY = date(2026, 9, 30)


def events(*rows: tuple[str, str, str, float | None, date]) -> str:
    """A FROM item over `rows` (group, member, event, value, day) shaped like the store."""
    values = ", ".join(
        f"('{g}', '{m}', '{e}', {'NULL' if v is None else v}, DATE '{d}', "
        f"TIMESTAMPTZ '{d} 12:00:00+08' + INTERVAL {i} SECOND)"
        for i, (g, m, e, v, d) in enumerate(rows)
    )
    return f'(SELECT * FROM (VALUES {values}) AS t("group", member, event, value, day, time))'


def generated() -> str:
    """Members with known histories (mombaby's thresholds, 180 days back from 09-30)."""
    d = lambda month, day: date(2026, month, day)  # noqa: E731
    rows: list[tuple[str, str, str, float | None, date]] = [
        *[("g1", "loyal-1", "order", 99.0, d(9, n)) for n in (1, 10, 20)],
        ("g1", "loyal-1", "referral", None, d(9, 5)),
        ("g1", "lapsed-2", "order", 59.0, d(5, 1)),
        ("g1", "lapsed-2", "order", 59.0, d(6, 1)),
        ("g1", "once-3", "order", 19.9, d(9, 25)),
        ("g1", "quiet-4", "join", None, d(8, 1)),
        *[("g1", "busy-5", "order", 10.0, d(9, 27)) for _ in range(4)],
        ("g1", "gone-6", "join", None, d(8, 1)),
        ("g1", "gone-6", "order", 10.0, d(8, 2)),
        ("g1", "gone-6", "leave", None, d(8, 3)),
        ("g1", "later-7", "order", 10.0, d(10, 2)),  # after the day: not yet known
        ("g3", "other-8", "order", 10.0, d(9, 2)),  # another SOP's group
        *[("g2", "loyal-1", "order", 30.0, d(9, n)) for n in (2, 3)],
    ]
    return events(*rows)


@pytest.fixture(scope="module")
def task() -> RfmTask:
    rfm = example("mombaby-refined").playbooks.mature.rfm  # type: ignore[union-attr]
    assert rfm is not None
    return rfm


def test_members_fall_in_the_first_segment_whose_thresholds_they_meet(task: RfmTask) -> None:
    con = duckdb.connect()
    scores = score_members(con, generated(), task, day=DAY, groups=["g1", "g2"])
    found = {(s.group_id, s.member): s.segment for s in scores}
    assert found == {
        ("g1", "loyal-1"): "loyal",
        ("g1", "lapsed-2"): "need-driven",
        ("g1", "once-3"): "low-need",
        ("g1", "quiet-4"): "low-need",  # never ordered
        ("g1", "busy-5"): None,  # four recent orders, no referral: no segment fits
        ("g2", "loyal-1"): None,  # per group: two orders here, no referral here
    }
    loyal = next(s for s in scores if s.member == "loyal-1" and s.group_id == "g1")
    assert (loyal.recency_days, loyal.orders, loyal.amount, loyal.referrals) == (10, 3, 297.0, 1)
    quiet = next(s for s in scores if s.member == "quiet-4")
    assert (quiet.recency_days, quiet.orders, quiet.amount) == (None, 0, 0.0)
    assert [s.segment for s in scores][:2] == ["loyal", "need-driven"]  # listed by segment


def test_an_sop_wide_scope_adds_a_members_orders_across_groups(task: RfmTask) -> None:
    wide = task.model_copy(update={"scope": "sop"})
    scores = score_members(duckdb.connect(), generated(), wide, day=DAY, groups=["g1", "g2"])
    loyal = next(s for s in scores if s.member == "loyal-1")
    assert (loyal.group_id, loyal.orders, loyal.amount, loyal.segment) == ("", 5, 357.0, "loyal")
    assert [s.member for s in scores].count("loyal-1") == 1


def test_orders_older_than_the_lookback_count_for_recency_only(task: RfmTask) -> None:
    old = DAY - timedelta(task.lookback_days)  # one day before the window
    source = events(("g1", "m", "order", 50.0, old))
    (score,) = score_members(duckdb.connect(), source, task, day=DAY, groups=["g1"])
    assert (score.recency_days, score.orders, score.amount) == (task.lookback_days, 0, 0.0)
