"""Claims with an owner and a lease: a crash followed by a promotion, and a run that starts
while another is still sending, never post a slot twice."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from engine.dispatch import dispatch
from engine.ledger import (
    LEASE,
    Claim,
    add_rows,
    get_deliveries,
    list_deliveries,
    mark_sending,
    needing_attention,
    wall_clock,
    write_results,
)
from services.db import make_engine
from sop_models.actions import PlannedAction
from tests.support.jsonl_channel import JsonlChannel, ReconcilingJsonlChannel, Result
from tests.support.waiting import wait_until

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 9, 8, 10, 0, tzinfo=SHANGHAI)
GROUPS = [f"g{n:02d}" for n in range(12)]


def posts(version: str) -> list[PlannedAction]:
    """The 10:00 post of one day for twelve groups, planned under `version`."""
    return [
        PlannedAction(
            key=f"mom:{version}:{group}:columns.morning:2026-09-08",
            sop_id="mom",
            version=version,
            group_id=group,
            at=NOW,
            kind="column",
            slot="columns.morning",
            text=f"早安 {version}",
            channel="outbox",
        )
        for group in GROUPS
    ]


def sessions(engine: Engine) -> Callable[[], Session]:
    return lambda: Session(engine, expire_on_commit=False)


def after_lease() -> datetime:
    """A wall clock one lease length ahead: a dead run's claims have ended by then."""
    return wall_clock() + LEASE + timedelta(seconds=1)


def crashing_v1_run(db_url: str, out: str) -> None:
    """Child: send v1.0 in chunks of 5 and die after 2 lines of the second chunk."""
    engine = make_engine(db_url)
    channel = JsonlChannel(Path(out), crash_in_chunk=2, crash_after=2)
    dispatch(sessions(engine), channel, posts("1.0"), now=NOW, chunk_size=5)
    raise SystemExit(0)  # not reached


def crash_v1(db_url: str, out: Path) -> None:
    process = multiprocessing.get_context("spawn").Process(
        target=crashing_v1_run, args=(db_url, str(out))
    )
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 1


def lines_per_group(out: Path) -> Counter[str]:
    return Counter(json.loads(line)["group"] for line in out.read_text("utf-8").splitlines())


def test_crash_then_promotion_reconciles_the_old_claims_and_posts_each_slot_once(
    engine_db: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "outbox.jsonl"
    crash_v1(
        db_url, out
    )  # v1.0: 5 sent, 2 written but left sending, 3 sending unwritten, 2 pending
    old, new = posts("1.0"), posts("1.1")

    report = dispatch(
        sessions(engine_db), ReconcilingJsonlChannel(out), new, now=NOW, clock=after_lease
    )
    assert lines_per_group(out) == Counter(GROUPS)  # every group's 10:00 slot exactly once
    assert sorted(report.reconciled) == sorted(a.key for a in old[5:10])
    assert report.skipped_already_done == [a.key for a in new[:7]]
    assert report.sent == [a.key for a in new[7:]]
    with Session(engine_db) as session:
        rows = get_deliveries(session, [a.key for a in old + new])
        assert [rows[a.key].status for a in old[:10]] == ["sent"] * 7 + ["pending"] * 3
        assert needing_attention(session, wall=after_lease()) == []

    again = dispatch(sessions(engine_db), ReconcilingJsonlChannel(out), old, now=NOW)
    assert again.sent == [] and lines_per_group(out) == Counter(GROUPS)  # a rollback neither


def test_crash_then_promotion_without_a_lookup_leaves_the_unclear_slots_to_a_person(
    engine_db: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "outbox.jsonl"
    crash_v1(db_url, out)
    old, new = posts("1.0"), posts("1.1")

    first = dispatch(sessions(engine_db), JsonlChannel(out), new, now=NOW, clock=after_lease)
    assert first.skipped_already_done == [a.key for a in new[:10]]
    assert first.sent == [a.key for a in new[10:]]
    second = dispatch(sessions(engine_db), JsonlChannel(out), new, now=NOW, clock=after_lease)
    assert second.sent == [] and second.skipped_already_done == [a.key for a in new]
    assert lines_per_group(out) == Counter(GROUPS[:7] + GROUPS[10:])  # none twice
    with Session(engine_db) as session:
        unclear = needing_attention(session, wall=after_lease())
    assert [(row.key, row.status) for row in unclear] == [(a.key, "unknown") for a in old[5:10]]


def test_a_live_claim_is_settled_only_by_its_owner_until_its_lease_ends(
    engine_db: Engine,
) -> None:
    action = posts("1.0")[0]
    start = wall_clock()
    with Session(engine_db) as session:
        add_rows(session, [action], NOW)
        assert mark_sending(session, [action.key], NOW, claim=Claim("run-a", start + LEASE))
        session.commit()
        outcome = Result(action.key, "failed", error="guess from another run")
        write_results(session, [outcome], NOW, owner="run-b", wall=start)
        session.commit()
        assert get_deliveries(session, [action.key])[action.key].status == "sending"
        assert needing_attention(session, wall=start) == []

        late = start + LEASE + timedelta(seconds=1)
        assert [r.key for r in needing_attention(session, wall=late)] == [action.key]
        write_results(session, [Result(action.key, "sent")], NOW, owner="run-a", wall=start)
        session.commit()
        assert get_deliveries(session, [action.key])[action.key].status == "sent"


def held_run(db_url: str, out: str, report: str, start: Barrier, other_done: Event) -> None:
    """Child A: claim everything, then hold the writes until run B has finished."""
    engine = make_engine(db_url)
    with engine.connect():
        pass
    start.wait(timeout=60)
    # Holds its writes until B has finished: the delay that used to let B resend them.
    channel = ReconcilingJsonlChannel(Path(out), before_write=lambda: other_done.wait(60))
    result = dispatch(sessions(engine), channel, posts("1.0"), now=NOW, chunk_size=100)
    fates = {"sent": result.sent, "skipped": result.skipped_already_done}
    Path(report).write_text(json.dumps(fates | {"in_flight": result.in_flight}), "utf-8")


def eager_run(db_url: str, out: str, report: str, start: Barrier, done: Event) -> None:
    """Child B: start with A, wait until A holds its claims, run the same day, then signal."""
    engine = make_engine(db_url)
    with engine.connect():
        pass
    start.wait(timeout=60)
    keys = [a.key for a in posts("1.0")]

    def claimed() -> bool:
        with Session(engine) as session:
            rows = get_deliveries(session, keys)
        return len(rows) == len(keys) and {r.status for r in rows.values()} == {"sending"}

    wait_until(claimed, timeout=60, interval=0.02, what="run A's claims")
    channel = ReconcilingJsonlChannel(Path(out))  # its lookup finds no line yet
    result = dispatch(sessions(engine), channel, posts("1.0"), now=NOW)
    done.set()
    fates = {"sent": result.sent, "skipped": result.skipped_already_done}
    Path(report).write_text(json.dumps(fates | {"in_flight": result.in_flight}), "utf-8")


def test_a_run_starting_while_another_is_still_sending_leaves_its_claims_alone(
    engine_db: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "outbox.jsonl"
    context = multiprocessing.get_context("spawn")
    start, b_done = context.Barrier(2), context.Event()
    runs = [
        context.Process(target=held_run, args=(db_url, str(out), str(tmp_path / "a.json"),
                                               start, b_done)),
        context.Process(target=eager_run, args=(db_url, str(out), str(tmp_path / "b.json"),
                                                start, b_done)),
    ]  # fmt: skip
    for process in runs:
        process.start()
    for process in runs:
        process.join(timeout=120)
        assert process.exitcode == 0

    keys = [a.key for a in posts("1.0")]
    assert lines_per_group(out) == Counter(GROUPS)
    a, b = (json.loads((tmp_path / f"{n}.json").read_text("utf-8")) for n in ("a", "b"))
    assert a["sent"] == keys
    assert b == {"sent": [], "skipped": [], "in_flight": keys}
    with Session(engine_db) as session:
        assert {(d.status, d.attempts) for d in list_deliveries(session)} == {("sent", 1)}


def test_the_heartbeat_keeps_a_slow_send_claimed(engine_db: Engine, tmp_path: Path) -> None:
    lease = timedelta(seconds=0.4)
    seen: list[bool] = []
    key = posts("1.0")[0].key

    def look() -> None:  # while "sending", well past one lease length
        time.sleep(1.2)  # the slow channel under test, not a wait for another process
        with Session(engine_db) as session:
            row = get_deliveries(session, [key])[key]
            seen.append(row.lease_until is not None and row.lease_until > wall_clock())

    channel = JsonlChannel(tmp_path / "out.jsonl", before_write=look)
    report = dispatch(sessions(engine_db), channel, posts("1.0")[:1], now=NOW, lease=lease)
    assert report.sent == [key] and seen == [True]
