"""Idempotent dispatch, including a real process killed in the middle of a chunk."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from engine.dispatch import dispatch
from engine.ledger import LEASE, get_deliveries, list_deliveries, mark_done, requeue, wall_clock
from services.db import make_engine
from sop_models.actions import PlannedAction
from tests.support.jsonl_channel import JsonlChannel, ReconcilingJsonlChannel, Result

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 5, 20, 0, tzinfo=SHANGHAI)


class RaisingChannel:
    """A channel whose transport breaks after taking the chunk."""

    def send_batch(self, actions: list[PlannedAction]) -> list[Result]:
        raise ConnectionError("connection reset by peer")


def make_actions(count: int = 12) -> list[PlannedAction]:
    groups = ["g1", "g2", "g3"]
    return [
        PlannedAction(
            key=f"demo@2:{groups[i % 3]}:columns.evening:{i:02d}",
            sop_id="demo",
            version="2",
            group_id=groups[i % 3],
            at=NOW + timedelta(minutes=i),
            kind="column",
            slot="columns.evening",
            text=f"今晚 8 点福利第 {i} 弹",
            channel="outbox",
        )
        for i in range(count)
    ]


def crashing_run(db_url: str, out: str, chunk_size: int, crash_in_chunk: int, k: int) -> None:
    """Child process: dispatch with a channel that dies after k messages of a chunk."""
    engine = make_engine(db_url)
    channel = JsonlChannel(Path(out), crash_in_chunk=crash_in_chunk, crash_after=k)
    dispatch(lambda: Session(engine), channel, make_actions(), now=NOW, chunk_size=chunk_size)
    raise SystemExit(0)  # not reached: the channel kills the process


def run_and_crash(db_url: str, out: Path) -> None:
    """Chunks of 5: the first is recorded, the second dies after 2 written lines."""
    process = multiprocessing.get_context("spawn").Process(
        target=crashing_run, args=(db_url, str(out), 5, 2, 2)
    )
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 1


def after_lease() -> datetime:
    """A wall clock one lease length ahead: a crashed run's claims have ended."""
    return wall_clock() + LEASE + timedelta(seconds=1)


def sessions(engine: Engine) -> Callable[[], Session]:
    """A session factory like the workspace's."""
    return lambda: Session(engine, expire_on_commit=False)


def test_rerun_after_crash_reconciles_written_keys_and_sends_each_action_once(
    engine_db: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "outbox.jsonl"
    actions = make_actions()
    keys = [a.key for a in actions]
    run_and_crash(db_url, out)
    with Session(engine_db) as session:
        assert [d.status for d in list_deliveries(session)] == ["sent"] * 5 + ["sending"] * 5 + [
            "pending"
        ] * 2
    assert Counter(JsonlChannel(out).written()) == Counter(keys[:7])

    channel = ReconcilingJsonlChannel(out)
    report = dispatch(
        sessions(engine_db), channel, actions, now=NOW + timedelta(minutes=3), clock=after_lease
    )
    assert sorted(report.reconciled) == sorted(keys[5:10])
    assert report.skipped_already_done == keys[:5]
    assert report.sent == keys[5:]
    assert (report.unknown, report.failed, report.not_attempted) == ([], [], [])
    assert sorted(channel.written()) == sorted(keys)  # every action exactly once

    again = dispatch(sessions(engine_db), channel, actions, now=NOW + timedelta(minutes=4))
    assert again.skipped_already_done == keys and again.sent == []
    assert sorted(channel.written()) == sorted(keys)


def test_rerun_after_crash_without_reconcile_reports_unknown_and_never_resends(
    engine_db: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "outbox.jsonl"
    actions = make_actions()
    keys = [a.key for a in actions]
    run_and_crash(db_url, out)

    channel = JsonlChannel(out)
    for minute in (3, 4):  # a second rerun must not resend either
        report = dispatch(
            sessions(engine_db),
            channel,
            actions,
            now=NOW + timedelta(minutes=minute),
            clock=after_lease,
        )
        assert report.unknown == keys[5:10]
        assert report.needs_attention
        assert Counter(channel.written()) == Counter(keys[:7] + keys[10:])
    assert report.sent == [] and report.skipped_already_done == keys[:5] + keys[10:]

    # The operator checks the outbox: two went out, three did not.
    with Session(engine_db) as session:
        assert mark_done(session, keys[5:7], "小美", NOW) == keys[5:7]
        assert requeue(session, keys[7:10], NOW) == keys[7:10]
        session.commit()
    final = dispatch(sessions(engine_db), channel, actions, now=NOW + timedelta(minutes=10))
    assert final.sent == keys[7:10] and final.unknown == []
    assert sorted(channel.written()) == sorted(keys)


def test_dry_run_lists_what_would_be_sent_and_leaves_the_ledger_alone(
    engine_db: Engine, tmp_path: Path
) -> None:
    actions = make_actions(4)
    channel = JsonlChannel(tmp_path / "out.jsonl")
    dispatch(sessions(engine_db), channel, actions[:1], now=NOW)
    report = dispatch(sessions(engine_db), channel, actions, now=NOW, dry_run=True)
    assert report.dry_run
    assert [a.key for a in report.would_send] == [a.key for a in actions[1:]]
    assert report.skipped_already_done == [actions[0].key]
    with Session(engine_db) as session:
        assert [d.key for d in list_deliveries(session)] == [actions[0].key]
    assert channel.written() == [actions[0].key]


def test_awaiting_confirmation_is_not_resent_until_reconciled(
    engine_db: Engine, tmp_path: Path
) -> None:
    actions = make_actions(2)
    mass = JsonlChannel(tmp_path / "mass.jsonl", status="awaiting_confirmation")
    report = dispatch(sessions(engine_db), mass, actions, now=NOW)
    assert report.awaiting_confirmation == [a.key for a in actions]
    later = dispatch(sessions(engine_db), JsonlChannel(tmp_path / "mass.jsonl"), actions, now=NOW)
    assert later.skipped_already_done == [a.key for a in actions]
    assert len(mass.written()) == 2

    confirmed = ReconcilingJsonlChannel(tmp_path / "mass.jsonl")
    dispatch(sessions(engine_db), confirmed, actions, now=NOW + timedelta(hours=1))
    with Session(engine_db) as session:
        rows = get_deliveries(session, [a.key for a in actions])
        assert {r.status for r in rows.values()} == {"sent"}
        assert {r.response_id for r in rows.values()} == {f"line-{a.key}" for a in actions}
    assert len(mass.written()) == 2


def test_channel_error_marks_chunk_unknown_and_stops_the_run(engine_db: Engine) -> None:
    actions = make_actions(5)
    report = dispatch(sessions(engine_db), RaisingChannel(), actions, now=NOW, chunk_size=2)
    assert report.error == "ConnectionError: connection reset by peer"
    assert report.unknown == [a.key for a in actions[:2]]
    assert report.not_attempted == [a.key for a in actions[2:]]
    with Session(engine_db) as session:
        row = get_deliveries(session, [actions[0].key])[actions[0].key]
        assert row.error is not None and "connection reset by peer" in row.error


def test_failed_sends_are_retried_on_the_next_run(engine_db: Engine, tmp_path: Path) -> None:
    actions = make_actions(3)
    failing = JsonlChannel(tmp_path / "fail.jsonl", status="failed")
    assert dispatch(sessions(engine_db), failing, actions, now=NOW).failed == [
        a.key for a in actions
    ]
    working = JsonlChannel(tmp_path / "ok.jsonl")
    report = dispatch(sessions(engine_db), working, actions, now=NOW + timedelta(minutes=1))
    assert report.sent == [a.key for a in actions]
    assert working.written() == [a.key for a in actions]
    with Session(engine_db) as session:
        assert {d.attempts for d in list_deliveries(session)} == {2}


class SlowJsonlChannel(JsonlChannel):
    """Writes like JsonlChannel but takes a few ms per message, so two runs overlap."""

    def send_batch(self, actions: list[PlannedAction]) -> list[Result]:
        results = []
        for action in actions:
            time.sleep(0.005)
            results += super().send_batch([action])
        return results


def racing_run(db_url: str, out: str, report_path: str, start: Barrier) -> None:
    """Child process: connect, wait at the barrier for the other run, dispatch, write the lists."""
    engine = make_engine(db_url)
    with engine.connect():
        pass  # connected before the start, so both runs reach the ledger together
    start.wait(timeout=60)
    report = dispatch(
        sessions(engine), SlowJsonlChannel(Path(out)), make_actions(40), now=NOW, chunk_size=4
    )
    fates = {"sent": report.sent, "skipped": report.skipped_already_done}
    Path(report_path).write_text(json.dumps(fates), encoding="utf-8")
    engine.dispose()


def test_two_runs_racing_for_the_same_day_send_each_action_once(
    engine_db: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "outbox.jsonl"
    keys = [a.key for a in make_actions(40)]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)  # released when both children are connected
    runs = [
        context.Process(
            target=racing_run, args=(db_url, str(out), str(tmp_path / f"r{n}.json"), start)
        )
        for n in (1, 2)
    ]
    for process in runs:
        process.start()
    for process in runs:
        process.join(timeout=120)
        assert process.exitcode == 0

    assert Counter(JsonlChannel(out).written()) == Counter(keys)  # each line exactly once
    reports = [json.loads((tmp_path / f"r{n}.json").read_text()) for n in (1, 2)]
    sent = [key for report in reports for key in report["sent"]]
    twice = sorted(key for key, n in Counter(sent).items() if n > 1)
    assert sorted(sent) == sorted(keys), f"reported sent by both runs: {twice}"
    with Session(engine_db) as session:
        rows = list_deliveries(session)
    odd = {
        d.key: (d.status, d.attempts, d.error)
        for d in rows
        if (d.status, d.attempts) != ("sent", 1)
    }
    assert odd == {}, "every row must end sent, after one attempt"
