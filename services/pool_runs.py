"""Pool runs whose machine died: which to mark Crashed, which to submit again.

A flow run of a sopflow deployment on a work pool is claimed by one worker (Prefect labels
the run with the worker's name). When that machine dies the run stays Running for ever: no
process is left to end it, so nothing alerts and, with `--shards 1`, nothing retries it.
Every living `sop worker` looks at its pool now and then (`flows.pool.recover_runs`): a
Running or Pending run claimed by a worker the pool reports offline is marked Crashed, and a
Crashed run (by that rule or by Prefect's own) is submitted again with the same parameters,
at most `MAX_RUN_ATTEMPTS` times in all; the ledger makes sending it again safe. Shard runs
are left to their parent run, which retries them itself (`services.shards`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SOPFLOW_TAG = "sopflow"
SHARD_TAG = "shard"  # shard runs: their parent retries them
ATTEMPT_TAG = "sopflow-attempt-"  # sopflow-attempt-2: the run is the 2nd of its crashed line
RESUBMITTED_TAG = "sopflow-resubmitted"
AGAIN_LABEL = "sopflow.submitted-again-as"  # on a crashed run: the id of its resubmission
MAX_RUN_ATTEMPTS = 3
RESUBMIT_WITHIN_S = 3600.0  # a run that crashed longer ago than this is history, not work


@dataclass(frozen=True)
class PoolRun:
    """What recovery needs to know of one flow run on the pool."""

    id: str
    name: str
    state: str  # Prefect's state type: RUNNING, PENDING, CRASHED, ...
    worker: str | None
    tags: tuple[str, ...] = ()
    deployment_id: str | None = None
    changed_at: datetime | None = None  # when it entered its state
    again_as: str | None = None  # the run it was submitted again as (AGAIN_LABEL)


def attempt_of(tags: Iterable[str]) -> int:
    """Which attempt of its line a run is (1 unless a resubmission tagged it)."""
    found = [t.removeprefix(ATTEMPT_TAG) for t in tags if t.startswith(ATTEMPT_TAG)]
    return max((int(n) for n in found if n.isdigit()), default=1)


def _ours(run: PoolRun) -> bool:
    return SOPFLOW_TAG in run.tags and SHARD_TAG not in run.tags and run.deployment_id is not None


def crashed_note(worker: str) -> str:
    """Why a run was marked Crashed: the worker that claimed it went offline."""
    return f"worker {worker} went offline (no heartbeat): marked Crashed and submitted again"


def to_crash(runs: Iterable[PoolRun], *, offline: set[str]) -> dict[str, str]:
    """Running or Pending sopflow runs claimed by an offline worker: run id -> why."""
    return {
        r.id: crashed_note(r.worker)
        for r in runs
        if _ours(r) and r.state in ("RUNNING", "PENDING") and r.worker in offline
    }


def to_resubmit(
    runs: Iterable[PoolRun],
    *,
    now: datetime,
    within_s: float = RESUBMIT_WITHIN_S,
    max_attempts: int = MAX_RUN_ATTEMPTS,
) -> list[PoolRun]:
    """Crashed sopflow runs to submit again: crashed within `within_s` of `now`, with
    attempts left, not submitted again yet (its AGAIN_LABEL names the run that was).
    Submitting is idempotent per crashed run (`resubmit_key`): two workers make one run."""
    since = now - timedelta(seconds=within_s)
    return [
        r
        for r in runs
        if _ours(r)
        and r.state == "CRASHED"
        and r.again_as is None
        and r.changed_at is not None
        and r.changed_at >= since
        and attempt_of(r.tags) < max_attempts
    ]


def resubmit_key(run: PoolRun) -> str:
    """The idempotency key of a crashed run's resubmission: every worker watching the pool
    may try, Prefect creates one run."""
    return f"sopflow-resubmit-{run.id}"


def resubmit_tags(run: PoolRun) -> list[str]:
    """The tags of a crashed run's resubmission: its own, the next attempt, resubmitted."""
    kept = [t for t in run.tags if not t.startswith(ATTEMPT_TAG) and t != RESUBMITTED_TAG]
    return [*kept, f"{ATTEMPT_TAG}{attempt_of(run.tags) + 1}", RESUBMITTED_TAG]
