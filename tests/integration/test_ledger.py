"""The delivery ledger's state machine and summaries on a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from engine.ledger import (
    GroupSummary,
    LedgerError,
    UnknownDeliveryError,
    add_rows,
    apply_reconciliation,
    claim,
    get_deliveries,
    group_summary,
    list_deliveries,
    mark_done,
    mark_sending,
    mark_stale_sending_unknown,
    read_ledger,
    record_results,
    requeue,
)
from engine.migrations import MIGRATIONS
from sop_models.actions import PlannedAction
from tests.support.jsonl_channel import Result

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)


def action(group: str, slot: str, at: datetime) -> PlannedAction:
    return PlannedAction(
        key=f"demo@3:{group}:{slot}:{at.date().isoformat()}",
        sop_id="demo",
        version="3",
        group_id=group,
        at=at,
        kind="column",
        slot=slot,
        text="早安！今天的育儿干货来了",
        channel="outbox",
    )


def statuses(session: Session, keys: list[str]) -> list[str]:
    rows = get_deliveries(session, keys)
    return [rows[key].status for key in keys]


def test_claim_inserts_pending_rows_once_and_keeps_aware_due_times(engine_db: Engine) -> None:
    actions = [action("g1", "columns.morning", NOW), action("g2", "columns.morning", NOW)]
    with Session(engine_db) as session:
        assert claim(session, [*actions, actions[0]], NOW) == actions
        session.commit()
        assert claim(session, actions, NOW + timedelta(minutes=1)) == actions
        session.commit()
    with Session(engine_db) as session:
        rows = list_deliveries(session)
        assert [(r.key, r.status, r.attempts) for r in rows] == [
            (a.key, "pending", 0) for a in actions
        ]
        assert rows[0].due_at == NOW
        assert rows[0].due_at.utcoffset() == timedelta(0)


def test_claim_never_returns_sending_sent_done_awaiting_or_unknown(engine_db: Engine) -> None:
    slots = ["a", "b", "c", "d", "e", "f"]
    acts = [action("g1", slot, NOW) for slot in slots]
    keys = [a.key for a in acts]
    with Session(engine_db) as session:
        claim(session, acts, NOW)
        assert mark_sending(session, keys[:5], NOW) == keys[:5]
        record_results(
            session,
            [
                Result(keys[0], "sent", "m1", sent_at=NOW),
                Result(keys[1], "awaiting_confirmation", "msgGAAA"),
                Result(keys[2], "unknown", error="read timeout"),
                Result(keys[3], "failed", error="errcode 45009"),
            ],
            NOW,
        )
        mark_done(session, [keys[5]], "小美", NOW)
        session.commit()
        assert statuses(session, keys) == [
            "sent",
            "awaiting_confirmation",
            "unknown",
            "failed",
            "sending",
            "done",
        ]
        assert claim(session, acts, NOW) == [acts[3]]


def test_failed_rows_are_retried_until_attempts_run_out(engine_db: Engine) -> None:
    act = action("g1", "columns.noon", NOW)
    with Session(engine_db) as session:
        for attempt in (1, 2):
            assert claim(session, [act], NOW, max_attempts=2) == [act]
            assert mark_sending(session, [act.key], NOW, max_attempts=2) == [act.key]
            record_results(session, [Result(act.key, "failed", error=f"try {attempt}")], NOW)
            session.commit()
        assert claim(session, [act], NOW, max_attempts=2) == []
        assert mark_sending(session, [act.key], NOW, max_attempts=2) == []
        row = get_deliveries(session, [act.key])[act.key]
        assert (row.status, row.attempts, row.error) == ("failed", 2, "try 2")


def test_mark_sending_moves_each_key_only_once(engine_db: Engine) -> None:
    act = action("g1", "columns.evening", NOW)
    with Session(engine_db) as session:
        claim(session, [act], NOW)
        session.commit()
    with Session(engine_db) as first, Session(engine_db) as second:
        assert mark_sending(first, [act.key], NOW) == [act.key]
        first.commit()
        assert mark_sending(second, [act.key], NOW) == []
        second.commit()


def test_record_results_refuses_keys_not_in_ledger_and_unknown_status(engine_db: Engine) -> None:
    act = action("g1", "a", NOW)
    with Session(engine_db) as session:
        claim(session, [act], NOW)
        mark_sending(session, [act.key], NOW)
        with pytest.raises(UnknownDeliveryError, match="no delivery with key\\(s\\): ghost"):
            record_results(session, [Result("ghost", "sent")], NOW)
        with pytest.raises(LedgerError, match="'delivered' is not known"):
            record_results(session, [Result(act.key, "delivered")], NOW)


def test_mark_done_refuses_unknown_keys_listing_all_and_keeps_sent_rows(engine_db: Engine) -> None:
    sent, manual = action("g1", "a", NOW), action("g1", "b", NOW)
    with Session(engine_db) as session:
        claim(session, [sent, manual], NOW)
        mark_sending(session, [sent.key], NOW)
        record_results(session, [Result(sent.key, "sent", sent_at=NOW)], NOW)
        with pytest.raises(UnknownDeliveryError) as err:
            mark_done(session, [manual.key, "x1", "x2"], "小美", NOW)
        assert str(err.value) == "no delivery with key(s): x1, x2"
        assert mark_done(session, [sent.key, manual.key], "小美", NOW) == [manual.key]
        session.commit()
        rows = get_deliveries(session, [sent.key, manual.key])
        assert (rows[sent.key].status, rows[sent.key].done_by) == ("sent", None)
        assert (rows[manual.key].status, rows[manual.key].done_by) == ("done", "小美")


def test_stale_sending_rows_become_unknown_and_can_be_requeued(engine_db: Engine) -> None:
    stale, other = action("g1", "a", NOW), action("g2", "a", NOW)
    with Session(engine_db) as session:
        claim(session, [stale, other], NOW)
        mark_sending(session, [stale.key, other.key], NOW)
        session.commit()
    later = NOW + timedelta(minutes=5)
    with Session(engine_db) as session:
        assert mark_stale_sending_unknown(session, later, keys=[stale.key]) == [stale.key]
        session.commit()
        row = get_deliveries(session, [stale.key])[stale.key]
        assert row.status == "unknown"
        assert (
            row.error
            == f"interrupted while sending (sending since {NOW.astimezone(UTC).isoformat()})"
        )
        assert statuses(session, [other.key]) == ["sending"]
        assert claim(session, [stale], later) == []
        assert requeue(session, [stale.key, other.key], later) == [stale.key]
        assert claim(session, [stale], later) == [stale]


def test_reconciliation_settles_only_open_rows(engine_db: Engine) -> None:
    acts = [action("g1", slot, NOW) for slot in ("a", "b", "c", "d")]
    keys = [a.key for a in acts]
    with Session(engine_db) as session:
        claim(session, acts, NOW)
        mark_sending(session, keys, NOW)
        record_results(session, [Result(keys[3], "sent", sent_at=NOW)], NOW)
        found = {keys[0]: "sent", keys[1]: "not_sent", keys[3]: "failed", "ghost": "sent"}
        later = NOW + timedelta(minutes=2)
        assert apply_reconciliation(session, found, later) == [keys[0], keys[1]]
        assert statuses(session, keys) == ["sent", "pending", "sending", "sent"]
        assert get_deliveries(session, [keys[0]])[keys[0]].sent_at == later


def test_list_deliveries_filters_by_sop_group_status_and_due_window(engine_db: Engine) -> None:
    day1 = [action("g1", "a", NOW), action("g2", "a", NOW)]
    day2 = [action("g1", "a", NOW + timedelta(days=1))]
    with Session(engine_db) as session:
        claim(session, day1 + day2, NOW)
        mark_sending(session, [day1[1].key], NOW)
        session.commit()
        assert [d.key for d in list_deliveries(session, group_id="g1")] == [
            day1[0].key,
            day2[0].key,
        ]
        assert [d.key for d in list_deliveries(session, status="sending")] == [day1[1].key]
        window = list_deliveries(session, since=NOW, until=NOW + timedelta(hours=1))
        assert [d.key for d in window] == [day1[0].key, day1[1].key]
        assert list_deliveries(session, sop_id="other") == []


def test_group_summary_counts_on_time_only_from_due_to_the_window_and_early_sends_apart(
    engine_db: Engine,
) -> None:
    g1 = [action("g1", slot, NOW) for slot in ("a", "b", "c", "d", "e")]
    g2 = [action("g2", slot, NOW) for slot in ("a", "b")]
    outside = action("g1", "a", NOW + timedelta(days=2))
    with Session(engine_db) as session:
        claim(session, [*g1, *g2, outside], NOW)
        mark_sending(session, [a.key for a in [*g1, *g2, outside]], NOW)
        record_results(
            session,
            [
                Result(g1[0].key, "sent", sent_at=NOW - timedelta(minutes=1)),
                Result(g1[1].key, "sent", sent_at=NOW + timedelta(minutes=30)),
                Result(g1[2].key, "sent", sent_at=NOW + timedelta(minutes=31)),
                Result(g1[3].key, "failed", error="45009"),
                Result(g1[4].key, "sent", sent_at=NOW),
                Result(g2[0].key, "awaiting_confirmation", "msgGA"),
                Result(g2[1].key, "unknown"),
                Result(outside.key, "sent", sent_at=NOW + timedelta(days=3)),
            ],
            NOW,
        )
        session.commit()
        summary = group_summary(session, since=NOW - timedelta(hours=1), until=NOW + timedelta(1))
    assert summary == [
        GroupSummary("g1", planned=5, sent=4, failed=1, on_time=2, late=1, early=1),
        GroupSummary("g2", planned=2, awaiting=1, unknown=1),
    ]


def test_group_summary_judges_hand_posts_on_their_done_time_not_on_when_marked(
    engine_db: Engine,
) -> None:
    posts = [action("g1", slot, NOW) for slot in ("a", "b", "c")]
    marked = NOW + timedelta(hours=5)  # everything is marked done late in the day
    with Session(engine_db) as session:
        claim(session, posts, NOW)
        mark_done(session, [a.key for a in posts], "小王", marked)
        rows = get_deliveries(session, [a.key for a in posts])
        for post, minutes in zip(posts, (-10, 20, 45), strict=True):
            rows[post.key].sent_at = NOW + timedelta(minutes=minutes)
            session.add(rows[post.key])
        session.commit()
        judged = group_summary(session, since=NOW, until=NOW + timedelta(1))
        wider = group_summary(
            session, since=NOW, until=NOW + timedelta(1), late_after=timedelta(hours=1)
        )
    assert judged == [GroupSummary("g1", planned=3, done=3, on_time=1, late=1, early=1)]
    assert wider == [GroupSummary("g1", planned=3, done=3, on_time=2, early=1)]


def test_results_keep_earlier_ids_and_errors_unless_the_outcome_brings_its_own(
    engine_db: Engine,
) -> None:
    mass, timeout = action("g1", "a", NOW), action("g1", "b", NOW)
    keys = [mass.key, timeout.key]
    later = NOW + timedelta(hours=2)
    with Session(engine_db) as session:
        claim(session, [mass, timeout], NOW)
        mark_sending(session, keys, NOW)
        record_results(
            session,
            [
                Result(mass.key, "awaiting_confirmation", "msgGAAAA1"),
                Result(timeout.key, "unknown", error="read timeout"),
            ],
            NOW,
        )
        # The confirmation has no id of its own; a later lookup of the timeout says failed
        # without a reason; then the same row is found sent without a time.
        assert record_results(session, [Result(mass.key, "sent")], later) == [mass.key]
        record_results(session, [Result(timeout.key, "failed")], later)
        session.commit()
        rows = get_deliveries(session, keys)
        assert (rows[mass.key].status, rows[mass.key].response_id) == ("sent", "msgGAAAA1")
        assert rows[mass.key].sent_at == later  # no sent_at reported: stamped now
        assert (rows[timeout.key].status, rows[timeout.key].error) == ("failed", "read timeout")
        # Settled rows do not move again, and report no change.
        assert record_results(session, [Result(mass.key, "failed", error="x")], later) == []
        assert statuses(session, keys) == ["sent", "failed"]


def test_add_rows_inserts_new_keys_once_as_pending_or_sending(engine_db: Engine) -> None:
    acts = [action("g1", slot, NOW) for slot in ("a", "b", "c")]
    keys = [a.key for a in acts]
    with Session(engine_db) as session:
        assert add_rows(session, acts[:1], NOW) == keys[:1]
        session.commit()
        # The first key is already there (another run, say): only the others are inserted.
        assert add_rows(session, acts, NOW, sending={keys[0], keys[1]}) == keys[1:]
        session.commit()
        rows = get_deliveries(session, keys)
        assert [(rows[k].status, rows[k].attempts) for k in keys] == [
            ("pending", 0),
            ("sending", 1),
            ("pending", 0),
        ]


def test_slot_key_migration_backfills_ledgers_made_before_it(engine_db: Engine) -> None:
    def planned(group: str, version: str) -> PlannedAction:  # the planner's key format
        key = f"demo:{version}:{group}:columns.morning:2025-03-03"
        return replace(action(group, "columns.morning", NOW), key=key, version=version)

    old, other, promoted = planned("g1", "3"), planned("g2", "3"), planned("g1", "4")
    with Session(engine_db) as session:
        claim(session, [old, other], NOW)
        mark_sending(session, [old.key], NOW)
        record_results(session, [Result(old.key, "sent", sent_at=NOW)], NOW)
        session.commit()
    with engine_db.begin() as connection:  # back to the 0102 schema, rows kept
        connection.execute(text("DROP INDEX ix_deliveries_slot_key"))
        connection.execute(text("ALTER TABLE deliveries DROP COLUMN slot_key"))
    with engine_db.begin() as connection:
        dict(MIGRATIONS)["0103_delivery_slot_key"](connection)

    with Session(engine_db) as session:
        view = read_ledger(session, [old, promoted, other])
    assert set(view.states) == {old.key, other.key}
    assert view.posted_elsewhere == {promoted.key}  # the slot went out under version 3


def test_owner_lease_migration_adds_the_claim_columns_to_ledgers_made_before_it(
    engine_db: Engine,
) -> None:
    old = action("g1", "columns.morning", NOW)
    with Session(engine_db) as session:
        claim(session, [old], NOW)
        mark_sending(session, [old.key], NOW)  # a crash leftover from before claims had owners
        session.commit()
    with engine_db.begin() as connection:  # back to the 0104 schema, rows kept
        connection.execute(text("ALTER TABLE deliveries DROP COLUMN owner"))
        connection.execute(text("ALTER TABLE deliveries DROP COLUMN lease_until"))
    with engine_db.begin() as connection:
        dict(MIGRATIONS)["0105_delivery_owner_lease"](connection)
        dict(MIGRATIONS)["0105_delivery_owner_lease"](connection)  # a second run changes nothing

    with Session(engine_db) as session:
        row = get_deliveries(session, [old.key])[old.key]
        assert (row.status, row.owner, row.lease_until) == ("sending", None, None)
        # an ownerless `sending` row was left by a crash: any later run may reconcile it
        assert mark_stale_sending_unknown(session, NOW, keys=[old.key], wall=NOW) == [old.key]


def test_follow_up_migration_adds_its_columns_to_ledgers_made_before_it(engine_db: Engine) -> None:
    old = action("g1", "columns.morning", NOW)
    with Session(engine_db) as session:
        claim(session, [old], NOW)
        mark_sending(session, [old.key], NOW)
        record_results(session, [Result(old.key, "awaiting_confirmation", "msgGA")], NOW)
        session.commit()
    with engine_db.begin() as connection:  # back to the 0150 schema, rows kept
        for name in ("follow_up", "reminded_at", "reminders"):
            connection.execute(text(f"ALTER TABLE deliveries DROP COLUMN {name}"))
    with engine_db.begin() as connection:
        dict(MIGRATIONS)["0106_delivery_follow_up"](connection)
        dict(MIGRATIONS)["0106_delivery_follow_up"](connection)  # a second run changes nothing

    with Session(engine_db) as session:
        row = get_deliveries(session, [old.key])[old.key]
        assert (row.status, row.follow_up, row.reminded_at, row.reminders) == (
            "awaiting_confirmation", None, None, 0
        )  # fmt: skip
