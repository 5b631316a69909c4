"""Sharding rules: stable shard of a group, and when a parent run retries a shard."""

from __future__ import annotations

from collections import Counter

import pytest

from services.shards import (
    ShardAttempt,
    ShardBook,
    check_shards,
    in_shard,
    shard_of,
    stalled_note,
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
