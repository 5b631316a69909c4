"""Sharding rules: stable shard of a group, and when a parent run retries a shard."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.shards import (
    ShardAttempt,
    ShardBook,
    WorkerBeat,
    check_shards,
    deadline_reason,
    healthy_workers,
    in_shard,
    shard_of,
    stalled_note,
    to_give_up,
    to_run_inline,
    worker_of_run,
    workspace_root,
)
from sop_models.errors import PlaybookError


def test_a_groups_shard_depends_only_on_its_id_and_the_shard_count() -> None:
    ids = [f"g{n:05d}" for n in range(2000)]
    first = [shard_of(i, 4) for i in ids]
    assert first == [shard_of(i, 4) for i in ids]
    counts = Counter(first)
    assert sorted(counts) == [0, 1, 2, 3]
    assert min(counts.values()) > 400  # spread, not all in one shard
    assert shard_of("上海1群", 3) == shard_of("上海1群", 3)


def test_the_shards_of_a_run_split_the_groups_without_overlap() -> None:
    ids = [f"g{n}" for n in range(500)]
    picked = [[i for i in ids if in_shard(s, 3)(i)] for s in range(3)]
    assert sorted(i for part in picked for i in part) == sorted(ids)


@pytest.mark.parametrize(("shards", "shard"), [(0, None), (2, 2), (2, -1)])
def test_impossible_shards_are_refused(shards: int, shard: int | None) -> None:
    with pytest.raises(PlaybookError):
        check_shards(shards, shard)


def test_a_pool_run_without_a_worker_workspace_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOPFLOW_WORKSPACE", raising=False)
    with pytest.raises(PlaybookError, match="SOPFLOW_WORKSPACE"):
        workspace_root("")
    monkeypatch.setenv("SOPFLOW_WORKSPACE", "/srv/ops-cache")
    assert str(workspace_root("")) == "/srv/ops-cache"
    assert str(workspace_root("/data/ws")) == "/data/ws"


def test_a_crashed_shard_is_retried_until_its_attempts_run_out() -> None:
    book = ShardBook(2, max_attempts=2)
    book.attempts += [ShardAttempt(0, 1, "r1", worker="a"), ShardAttempt(1, 1, "r2", worker="b")]
    book.attempts[0].state = "COMPLETED"
    book.attempts[1].state, book.attempts[1].note = "CRASHED", stalled_note("b")
    assert (book.open_shards(), book.to_retry(), book.failed()) == ([], [1], [])

    book.attempts.append(ShardAttempt(1, 2, "r3", worker="a"))
    assert book.open_shards() == [1]
    book.attempts[-1].state = "FAILED"
    assert (book.to_retry(), book.failed()) == ([], [1])


def test_the_parent_table_names_each_attempt_its_worker_and_what_was_retried() -> None:
    book = ShardBook(2)
    book.attempts += [
        ShardAttempt(0, 1, "r1", "day-shard-1", "机器A", "COMPLETED"),
        ShardAttempt(1, 1, "r2", "day-shard-2", "机器B", "CRASHED", stalled_note("机器B")),
        ShardAttempt(1, 2, "r3", "day-shard-2-try-2", "机器A", "COMPLETED"),
    ]
    assert [(r["shard"], r["worker"], r["state"]) for r in book.table()] == [
        ("1/2", "机器A", "COMPLETED"),
        ("2/2", "机器B", "CRASHED"),
        ("2/2", "机器A", "COMPLETED"),
    ]
    summary = book.summary()
    assert summary["completed_by"] == {"0": "机器A", "1": "机器A"}
    assert summary["retried"] == [
        {"shard": 1, "flow_run_id": "r2", "worker": "机器B", "why": stalled_note("机器B")}
    ]
    assert summary["failed"] == []


NOW = datetime(2026, 9, 8, 2, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def unstarted_book(*states: str, submitted_s_ago: float) -> ShardBook:
    book = ShardBook(len(states))
    for shard, state in enumerate(states):
        book.attempts.append(
            ShardAttempt(shard, 1, f"r{shard}", state=state, submitted_at=ago(submitted_s_ago))
        )
    return book


def test_a_worker_is_healthy_only_online_with_a_recent_heartbeat() -> None:
    workers = [
        WorkerBeat("机器A", online=True, last_heartbeat=ago(5)),
        WorkerBeat("stale", online=True, last_heartbeat=ago(16)),
        WorkerBeat("off", online=False, last_heartbeat=ago(1)),
        WorkerBeat("never", online=True, last_heartbeat=None),
    ]
    assert healthy_workers(workers, now=NOW, stale_after_s=15) == ["机器A"]


def test_unstarted_shards_are_given_up_after_the_bound_when_no_worker_is_alive() -> None:
    book = unstarted_book("PENDING", "SCHEDULED", "RUNNING", "COMPLETED", submitted_s_ago=301)
    dead = [WorkerBeat("a", online=False, last_heartbeat=ago(400))]
    found = to_give_up(book, now=NOW, workers=dead, start_within_s=300)
    assert sorted(found) == [0, 1]
    assert all("not started after 301 s" in why for why in found.values())
    assert to_give_up(book, now=NOW, workers=[], start_within_s=300).keys() == found.keys()


def test_unstarted_shards_wait_while_a_worker_is_alive_or_the_bound_has_not_passed() -> None:
    alive = [
        WorkerBeat("a", online=False, last_heartbeat=ago(400)),
        WorkerBeat("b", online=True, last_heartbeat=ago(3)),
    ]
    old = unstarted_book("PENDING", "SCHEDULED", submitted_s_ago=3600)
    assert to_give_up(old, now=NOW, workers=alive, start_within_s=300) == {}
    fresh = unstarted_book("PENDING", "SCHEDULED", submitted_s_ago=299)
    assert to_give_up(fresh, now=NOW, workers=[], start_within_s=300) == {}


def test_a_running_shard_is_given_up_when_its_worker_is_offline() -> None:
    book = ShardBook(2)
    book.attempts += [
        ShardAttempt(0, 1, "r0", worker="a", state="RUNNING", submitted_at=ago(60)),
        ShardAttempt(1, 1, "r1", worker="b", state="RUNNING", submitted_at=ago(60)),
    ]
    workers = [
        WorkerBeat("a", online=False, last_heartbeat=ago(30)),
        WorkerBeat("b", online=True, last_heartbeat=ago(2)),
    ]
    assert to_give_up(book, now=NOW, workers=workers) == {0: stalled_note("a")}


def test_a_shard_claimed_by_a_worker_that_went_offline_is_given_up_before_it_starts() -> None:
    book = ShardBook(3)
    book.attempts += [
        ShardAttempt(0, 1, "r0", worker="a", state="PENDING", submitted_at=ago(20)),
        ShardAttempt(1, 1, "r1", worker="b", state="PENDING", submitted_at=ago(20)),
        ShardAttempt(2, 1, "r2", state="PENDING", submitted_at=ago(20)),
    ]
    workers = [
        WorkerBeat("a", online=False, last_heartbeat=ago(30)),
        WorkerBeat("b", online=True, last_heartbeat=ago(2)),
    ]
    # a living worker "b" does not make the shard "a" claimed wait for the start bound
    assert to_give_up(book, now=NOW, workers=workers, start_within_s=300) == {0: stalled_note("a")}


def test_the_worker_of_a_run_is_the_one_its_claim_label_names() -> None:
    assert worker_of_run({"prefect.worker.name": "机器A", "prefect.worker.type": "process"}) == (
        "机器A"
    )
    assert worker_of_run({}) is None
    assert worker_of_run(None) is None


def test_only_shards_still_scheduled_past_the_wait_are_run_inline() -> None:
    book = unstarted_book("SCHEDULED", "PENDING", "RUNNING", "SCHEDULED", submitted_s_ago=61)
    book.attempts[3].submitted_at = ago(59)
    found = to_run_inline(book, now=NOW, inline_after_s=60)
    assert list(found) == [0]
    assert "not started after 61 s" in found[0] and "run inline by the parent" in found[0]


def test_the_deadline_reason_is_one_line_naming_each_shard_left() -> None:
    book = ShardBook(3)
    book.attempts += [
        ShardAttempt(0, 1, "r0", worker="机器A", state="COMPLETED"),
        ShardAttempt(1, 1, "r1", worker="机器B", state="RUNNING"),
        ShardAttempt(2, 1, "r2", state="PENDING"),
    ]
    reason = deadline_reason(book, deadline_s=3600)
    assert reason == (
        "deadline of 3600 s passed with shard(s) not completed:"
        " 2/3 (running on 机器B), 3/3 (pending)"
    )
