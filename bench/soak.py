"""Soak: random kill -9 points across sending, promotion and rerun; nothing posted twice,
nothing unsent left unlisted.

`python -m bench.soak --points 200` (or `python -m bench --only soak`). Each point is a fresh
ledger (SQLite, the named migrations) and outbox file, with 30 groups x 2 slots of one day:

1. run A, a real process, sends version 1.0, then promotes 1.1 (a version switch written to
   a state file, as a promotion switches what the next run plans), then runs again under
   1.1; the parent kills it with SIGKILL at a uniformly random instant of that work, so the
   kill lands in sending, in the promotion or in the rerun;
2. one rerun B of whatever version is current, killed at a random instant half of the time,
   or (every third point) two reruns racing from a barrier, one of them killed at random;
3. a final run C after every claim's lease has ended.

Even points use the real outbox channel, which can look into its own file (reconcile);
odd points hide that lookup, so unclear rows must end `unknown` and listed for a person.
After C, every slot (a group's post of the day, whatever the version) is checked: posted at
most once (`twice` must be 0), and either posted or listed by `needing_attention` (`lost`
must be 0). The outbox channel writes a line per message with a little delay, so a run's
sending spans many instants.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sqlmodel import Session

from bench.table import Row
from engine.channels.outbox import OutboxChannel, read_outbox
from engine.dispatch import dispatch
from engine.ledger import needing_attention, slot_key
from engine.migrations import MIGRATIONS
from services.db import make_engine, migrate
from sop_models.actions import PlannedAction, action_key

SHANGHAI = timezone(timedelta(hours=8))
DAY = datetime(2026, 9, 8, tzinfo=SHANGHAI)
GROUPS = [f"g{n:02d}" for n in range(30)]
SLOTS = (("columns.morning", 10), ("columns.evening", 20))
NEW_IN_1_1 = (("columns.noon", 12),)  # the promoted version adds a column
PROMOTION_S = 0.05  # what a promotion takes (git refs + audit row), as a window to kill in
LEASE = timedelta(seconds=2)
DELAY_S = 0.002  # per message: a run's sending spans many instants


def actions(version: str) -> list[PlannedAction]:
    """The day's posts of every group under `version` (keys as the planner makes them)."""
    slots = SLOTS + (NEW_IN_1_1 if version == "1.1" else ())
    return [
        PlannedAction(
            key=action_key("soak", version, group, slot, DAY.date().isoformat()),
            sop_id="soak",
            version=version,
            group_id=group,
            at=DAY + timedelta(hours=hour),
            kind="column",
            slot=slot,
            text=f"{slot} {version}",
            channel="outbox",
        )
        for slot, hour in slots
        for group in GROUPS
    ]


class SlowOutbox:
    """The outbox channel, one message at a time with a short delay; can hide its lookup."""

    def __init__(self, path: Path, *, lookup: bool) -> None:
        self.inner = OutboxChannel(path)
        if lookup:
            self.reconcile = self.inner.reconcile

    def send_batch(self, batch: Sequence[PlannedAction]) -> list[object]:
        results: list[object] = []
        for action in batch:
            time.sleep(DELAY_S)
            results += self.inner.send_batch([action])
        return results


def _version(folder: Path) -> str:
    state = folder / "production.txt"
    return state.read_text("utf-8").strip() if state.exists() else "1.0"


def _run(folder: Path, lookup: bool, version: str) -> None:
    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    channel = SlowOutbox(folder / "outbox.jsonl", lookup=lookup)
    sessions = lambda: Session(engine, expire_on_commit=False)  # noqa: E731
    dispatch(sessions, channel, actions(version), now=DAY + timedelta(hours=21), chunk_size=10,
             lease=LEASE)  # fmt: skip
    engine.dispose()


def _phase(folder: Path, name: str) -> None:
    (folder / "phase.txt").write_text(name, "utf-8")


def child_a(folder: str, lookup: bool) -> None:
    """Send 1.0, promote 1.1, send again (the parent kills this somewhere)."""
    where = Path(folder)
    _phase(where, "sending")
    _run(where, lookup, "1.0")
    _phase(where, "promotion")
    state = where / "production.txt"
    time.sleep(PROMOTION_S)
    (where / "production.tmp").write_text("1.1", "utf-8")
    (where / "production.tmp").replace(state)
    _phase(where, "rerun")
    _run(where, lookup, "1.1")
    _phase(where, "done")


def child_b(folder: str, lookup: bool, start: Barrier | None) -> None:
    """A rerun of the current version (optionally released with a racing twin)."""
    where = Path(folder)
    if start is not None:
        start.wait(timeout=60)
    _run(where, lookup, _version(where))


@dataclass
class Soak:
    """What the points found."""

    points: int = 0
    twice: int = 0
    lost: int = 0
    unknown_listed: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    span_s: float = 0.0  # run A's unkilled duration: the window its kill instant is drawn from


def _kill_at_random(process: multiprocessing.process.BaseProcess, within_s: float) -> bool:
    """SIGKILL `process` at a uniform instant of the next `within_s` seconds (if alive)."""
    deadline = time.monotonic() + random.uniform(0, within_s)
    while time.monotonic() < deadline and process.is_alive():
        time.sleep(0.001)
    if process.is_alive() and process.pid is not None:
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=30)
        return True
    process.join(timeout=60)
    return False


def _migrated(folder: Path) -> None:
    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    migrate(engine, MIGRATIONS)
    engine.dispose()  # no open connection crosses a fork


def one_point(folder: Path, index: int, span_s: float, soak: Soak) -> None:
    """One random point: A killed, B (or two racing Bs) maybe killed, C; then the checks."""
    context = multiprocessing.get_context("fork")
    lookup = index % 2 == 0
    _migrated(folder)
    first = context.Process(target=child_a, args=(str(folder), lookup))
    first.start()
    if _kill_at_random(first, span_s):
        soak.kills[(folder / "phase.txt").read_text("utf-8") or "starting"] += 1
    racing = index % 3 == 0
    start = context.Barrier(2) if racing else None
    reruns = [context.Process(target=child_b, args=(str(folder), lookup, start))
              for _ in range(2 if racing else 1)]  # fmt: skip
    for process in reruns:
        process.start()
    if random.random() < 0.5 and _kill_at_random(reruns[0], span_s / 2):
        soak.kills["second run (racing)" if racing else "second run"] += 1
    for process in reruns:
        process.join(timeout=120)
    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    channel = SlowOutbox(folder / "outbox.jsonl", lookup=lookup)
    later = lambda: datetime.now(UTC) + LEASE + timedelta(seconds=1)  # noqa: E731 - all leases over
    sessions = lambda: Session(engine, expire_on_commit=False)  # noqa: E731
    final = actions(_version(folder))
    dispatch(sessions, channel, final, now=DAY + timedelta(hours=22), chunk_size=10, clock=later)
    _check(folder, engine, final, soak)
    engine.dispose()


def _check(folder: Path, engine: object, final: list[PlannedAction], soak: Soak) -> None:
    slot_of = {a.key: slot_key(a) for v in ("1.0", "1.1") for a in actions(v)}
    posted = Counter(slot_of[str(r["key"])] for r in read_outbox(folder / "outbox.jsonl"))
    with Session(engine) as session:  # type: ignore[call-overload]
        listed = {r.slot_key for r in needing_attention(session, wall=datetime.now(UTC) + LEASE)}
    soak.points += 1
    soak.twice += sum(1 for n in posted.values() if n > 1)
    soak.lost += sum(1 for a in final if slot_key(a) not in posted and slot_key(a) not in listed)
    soak.unknown_listed += len(listed)


def soak(points: int, *, seed: int = 7) -> Soak:
    """Run `points` random kill points; returns the counts."""
    random.seed(seed)
    found = Soak()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        calibrate = Path(tmp) / "calibrate"
        calibrate.mkdir()
        _migrated(calibrate)
        clock = time.perf_counter()
        child_a(str(calibrate), True)  # the whole of A's work, unkilled, sets the kill window
        span_s = found.span_s = (time.perf_counter() - clock) * 1.1
        for index in range(points):
            folder = Path(tmp) / f"p{index:04d}"
            folder.mkdir()
            one_point(folder, index, span_s, found)
    found.seconds = time.perf_counter() - started
    return found


def run(quick: bool = False) -> list[Row]:
    """The soak as bench rows (20 points quick, 200 otherwise)."""
    found = soak(20 if quick else 200)
    note = f"{found.points} kill points, {dict(found.kills)}, {found.seconds:.0f} s"
    return [
        Row("soak: slots posted twice", found.twice, "slots", "must be", 0, "0", note),
        Row("soak: unsent slots not listed for attention", found.lost, "slots", "must be", 0,
            "0", f"{found.unknown_listed} unclear rows listed"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200, help="random kill points")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    found = soak(args.points, seed=args.seed)
    print(json.dumps({
        "points": found.points, "slots_posted_twice": found.twice,
        "unsent_not_listed": found.lost, "unclear_rows_listed": found.unknown_listed,
        "kills_by_phase": dict(found.kills), "seconds": round(found.seconds, 1),
        "kill_window_s": round(found.span_s, 2),
    }, ensure_ascii=False, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
