"""Sharded dispatch: which groups a shard sends, and what a parent run does with each shard.

A playbook run on a work pool splits its groups into `shards` shards, stable by group id (a
hash of the id, modulo the number of shards), and runs each shard as its own flow run, so N
workers send in parallel. A shard run is idempotent: the ledger's owned, leased `sending` rows
make running a shard again (after a worker died) send only what was not sent. The rules of
when a shard is retried live here; `flows.shards` only orchestrates.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sop_models.errors import PlaybookError

WORKER_ENV = "SOPFLOW_WORKER_NAME"  # set by `sop worker` for the flow runs it starts
WORKSPACE_ENV = "SOPFLOW_WORKSPACE"
FROM_WORKER = ""  # a flow parameter `workspace=""`: the worker's own local workspace cache
DEFAULT_ATTEMPTS = 3
TERMINAL_OK = "COMPLETED"
# States after which a shard run will not finish by itself: it is submitted again.
GIVEN_UP = ("CRASHED", "FAILED", "CANCELLED")
# States of a shard run no worker has started yet (Pending: a worker claimed it, then maybe died).
NOT_STARTED = ("SCHEDULED", "PENDING")
# A parent runs a shard itself once its run stays Scheduled this long: every worker slot may
# be held by parents waiting for their shards (one live worker, `--limit 2`, two parents).
DEFAULT_INLINE_AFTER_S = 60.0
DEFAULT_START_WITHIN_S = 300.0  # a shard run not started this long after submission is suspect
DEFAULT_DEADLINE_S = 4 * 3600.0  # the parent run gives up on shards still open after this
STALE_HEARTBEAT_S = 15.0  # 3 missed 5-second worker heartbeats (flows.pool.WORKER_HEARTBEAT_S)
WORKER_LABEL = "prefect.worker.name"  # the label a Prefect worker puts on a run it claims


def shard_of(group_id: str, shards: int) -> int:
    """The shard of a group: stable across machines, runs and Python versions."""
    digest = hashlib.sha256(group_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def check_shards(shards: int, shard: int | None = None) -> None:
    """Refuse a shard count below 1 or a shard index outside it."""
    if shards < 1:
        raise PlaybookError(f"--shards must be at least 1, not {shards}")
    if shard is not None and not 0 <= shard < shards:
        raise PlaybookError(f"shard {shard} is not one of 0..{shards - 1}")


def in_shard(shard: int, shards: int) -> Callable[[str], bool]:
    """A filter of group ids keeping those of `shard` (of `shards`)."""
    check_shards(shards, shard)
    return lambda group_id: shard_of(group_id, shards) == shard


def workspace_root(value: str) -> Path:
    """The workspace a flow run opens: the given folder, or (`""`, as deployments on a work
    pool pass it) the worker's own cache named by SOPFLOW_WORKSPACE."""
    if value != FROM_WORKER:
        return Path(value)
    env = os.environ.get(WORKSPACE_ENV)
    if not env:
        raise PlaybookError(
            "this flow run takes its workspace from the worker, but SOPFLOW_WORKSPACE is not set"
            " (start workers with `sop worker --pool NAME --workspace DIR`)"
        )
    return Path(env)


def worker_name() -> str | None:
    """The name of the `sop worker` running this process, if one started it."""
    return os.environ.get(WORKER_ENV) or None


@dataclass
class ShardAttempt:
    """One flow run of one shard: where it ran and how it ended."""

    shard: int
    attempt: int
    flow_run_id: str
    flow_run_name: str = ""
    worker: str | None = None
    state: str = "SCHEDULED"
    note: str = ""
    submitted_at: datetime | None = None


@dataclass
class ShardBook:
    """Every attempt of every shard of one parent run (the parent's artifact)."""

    shards: int
    max_attempts: int = DEFAULT_ATTEMPTS
    attempts: list[ShardAttempt] = field(default_factory=list)

    def current(self, shard: int) -> ShardAttempt:
        """The latest attempt of `shard`."""
        return [a for a in self.attempts if a.shard == shard][-1]

    def open_shards(self) -> list[int]:
        """Shards whose latest attempt has not ended."""
        return [
            s for s in range(self.shards) if self.current(s).state not in (TERMINAL_OK, *GIVEN_UP)
        ]

    def to_retry(self) -> list[int]:
        """Shards whose latest attempt gave up and that may be tried again."""
        return [
            s
            for s in range(self.shards)
            if self.current(s).state in GIVEN_UP and self.current(s).attempt < self.max_attempts
        ]

    def failed(self) -> list[int]:
        """Shards that gave up on their last allowed attempt."""
        return [
            s
            for s in range(self.shards)
            if self.current(s).state != TERMINAL_OK and s not in self.to_retry()
        ]

    def retried(self) -> list[ShardAttempt]:
        """Attempts that were given up and submitted again."""
        later = {(a.shard, a.attempt - 1) for a in self.attempts if a.attempt > 1}
        return [a for a in self.attempts if (a.shard, a.attempt) in later]

    def table(self) -> list[dict[str, object]]:
        """One row per attempt: shard, attempt, flow run, worker, state, what happened."""
        return [
            {
                "shard": f"{a.shard + 1}/{self.shards}",
                "attempt": a.attempt,
                "flow_run": a.flow_run_name,
                "flow_run_id": a.flow_run_id,
                "worker": a.worker or "",
                "state": a.state,
                "note": a.note,
            }
            for a in self.attempts
        ]

    def summary(self) -> dict[str, object]:
        """Small: who completed each shard, and what was retried."""
        return {
            "shards": self.shards,
            "completed_by": {
                str(s): self.current(s).worker
                for s in range(self.shards)
                if self.current(s).state == TERMINAL_OK
            },
            "retried": [
                {"shard": a.shard, "flow_run_id": a.flow_run_id, "worker": a.worker, "why": a.note}
                for a in self.retried()
            ],
            "failed": self.failed(),
        }


def stalled_note(worker: str) -> str:
    """Why a running shard is given up: its worker stopped heartbeating."""
    return f"worker {worker} went offline (no heartbeat); marked Crashed and submitted again"


def unstarted_note(waited_s: float) -> str:
    """Why a shard run that never started is given up: no worker of the pool is alive."""
    return (
        f"not started after {waited_s:.0f} s and no worker of the pool has a healthy heartbeat;"
        " marked Crashed and submitted again"
    )


def inline_note(waited_s: float) -> str:
    """Why a parent runs a shard itself: its run was not started, no worker slot was free."""
    return (
        f"not started after {waited_s:.0f} s (no free worker slot); withdrawn and run inline"
        " by the parent"
    )


def to_run_inline(
    book: ShardBook, *, now: datetime, inline_after_s: float = DEFAULT_INLINE_AFTER_S
) -> dict[int, str]:
    """Open shards whose current run is still Scheduled (Late included) `inline_after_s` after
    its submission, with why: the parent withdraws them and runs them itself, so parents that
    hold every worker slot while they wait never wait on each other."""
    found: dict[int, str] = {}
    for shard in book.open_shards():
        attempt = book.current(shard)
        if attempt.state == "SCHEDULED" and attempt.submitted_at is not None:
            waited = (now - attempt.submitted_at).total_seconds()
            if waited > inline_after_s:
                found[shard] = inline_note(waited)
    return found


def worker_of_run(labels: dict[str, object] | None) -> str | None:
    """The worker that claimed a flow run, as its labels name it (None: not claimed yet)."""
    name = (labels or {}).get(WORKER_LABEL)
    return str(name) if name else None


@dataclass(frozen=True)
class WorkerBeat:
    """What the pool says of one worker: its name, status and last heartbeat."""

    name: str
    online: bool
    last_heartbeat: datetime | None = None


def healthy_workers(
    workers: Iterable[WorkerBeat], *, now: datetime, stale_after_s: float = STALE_HEARTBEAT_S
) -> list[str]:
    """Workers that are online and heartbeat within `stale_after_s` of `now`."""
    limit = timedelta(seconds=stale_after_s)
    return [
        w.name
        for w in workers
        if w.online and w.last_heartbeat is not None and now - w.last_heartbeat <= limit
    ]


def to_give_up(
    book: ShardBook,
    *,
    now: datetime,
    workers: Iterable[WorkerBeat],
    start_within_s: float = DEFAULT_START_WITHIN_S,
    stale_after_s: float = STALE_HEARTBEAT_S,
) -> dict[int, str]:
    """Open shards whose current run will not finish by itself, with why (to mark Crashed
    and submit again): Pending or Running on a worker the pool reports offline (the worker
    that claimed a run labels it), or not started within `start_within_s` of its submission
    while no worker of the pool has a healthy heartbeat."""
    workers = list(workers)
    offline = {w.name for w in workers if not w.online}
    nobody_alive = not healthy_workers(workers, now=now, stale_after_s=stale_after_s)
    found: dict[int, str] = {}
    for shard in book.open_shards():
        attempt = book.current(shard)
        if attempt.state in ("PENDING", "RUNNING") and attempt.worker in offline:
            found[shard] = stalled_note(attempt.worker)
        elif attempt.state in NOT_STARTED and nobody_alive and attempt.submitted_at is not None:
            waited = (now - attempt.submitted_at).total_seconds()
            if waited > start_within_s:
                found[shard] = unstarted_note(waited)
    return found


def deadline_reason(book: ShardBook, *, deadline_s: float) -> str:
    """One line: the parent's deadline passed, and which shards (state, worker) were left."""
    left = [
        f"{s + 1}/{book.shards} ({book.current(s).state.lower()}"
        + (f" on {book.current(s).worker})" if book.current(s).worker else ")")
        for s in range(book.shards)
        if book.current(s).state != TERMINAL_OK
    ]
    return f"deadline of {deadline_s:.0f} s passed with shard(s) not completed: {', '.join(left)}"
