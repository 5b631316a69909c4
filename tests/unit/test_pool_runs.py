"""Runs of dead machines: which sopflow runs are marked Crashed and which are submitted again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.pool_runs import (
    PoolRun,
    attempt_of,
    crashed_note,
    resubmit_key,
    resubmit_tags,
    to_crash,
    to_resubmit,
)

NOW = datetime(2026, 9, 8, 12, 0, tzinfo=UTC)
OURS = ("sopflow", "mature_day")


def run(run_id: str, state: str, worker: str | None = "机器A", **more: object) -> PoolRun:
    fields: dict[str, object] = {"tags": OURS, "deployment_id": "d1", "changed_at": NOW}
    fields.update(more)
    return PoolRun(run_id, f"name-{run_id}", state, worker, **fields)  # type: ignore[arg-type]


def test_running_and_pending_runs_of_an_offline_worker_are_crashed_others_are_left() -> None:
    runs = [
        run("r1", "RUNNING"),
        run("r2", "PENDING"),
        run("r3", "RUNNING", worker="机器B"),  # its worker lives
        run("r4", "RUNNING", tags=("sopflow", "shard")),  # its parent retries it
        run("r5", "RUNNING", tags=("other-team",)),  # not ours
        run("r6", "RUNNING", deployment_id=None),  # no deployment to submit again
        run("r7", "COMPLETED"),
        run("r8", "RUNNING", worker=None),  # not claimed by a worker
    ]
    assert to_crash(runs, offline={"机器A"}) == {
        "r1": crashed_note("机器A"),
        "r2": crashed_note("机器A"),
    }


def test_a_crashed_run_is_submitted_again_once_while_attempts_last_and_it_is_recent() -> None:
    runs = [
        run("r1", "CRASHED"),
        run("r2", "CRASHED", again_as="r9"),  # submitted again already
        run("r3", "CRASHED", changed_at=NOW - timedelta(hours=2)),  # history
        run("r4", "CRASHED", tags=(*OURS, "sopflow-attempt-3")),  # third attempt crashed too
        run("r5", "CRASHED", tags=(*OURS, "sopflow-attempt-2")),
        run("r6", "FAILED"),  # a failed run reported its own failure: not a dead machine
        run("r7", "CRASHED", tags=("sopflow", "shard")),
    ]
    assert [r.id for r in to_resubmit(runs, now=NOW, within_s=3600, max_attempts=3)] == ["r1", "r5"]


def test_a_resubmission_carries_the_next_attempt_and_one_key_per_crashed_run() -> None:
    again = resubmit_tags(run("r5", "CRASHED", tags=(*OURS, "sopflow-attempt-2")))
    assert again == ["sopflow", "mature_day", "sopflow-attempt-3", "sopflow-resubmitted"]
    assert attempt_of(again) == 3 and attempt_of(OURS) == 1
    assert resubmit_key(run("r1", "CRASHED")) == resubmit_key(run("r1", "CRASHED", worker="x"))
    assert resubmit_key(run("r1", "CRASHED")) != resubmit_key(run("r2", "CRASHED"))
