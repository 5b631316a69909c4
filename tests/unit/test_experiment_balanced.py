"""Balanced group assignment: matched blocks by tags and size, the hash deciding inside each."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from engine.experiment import assign_groups, assign_groups_balanced

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def candidates(groups: list[tuple[str, int, list[str]]], share: float, salt: str) -> set[str]:
    records = assign_groups_balanced(groups, experiment="e", share=share, now=NOW, salt=salt)
    assert sorted(r.group_id for r in records) == sorted(g[0] for g in groups)
    return {r.group_id for r in records if r.variant == "candidate"}


def test_four_groups_always_split_two_and_two() -> None:
    groups = [(f"g{i}", 200, []) for i in range(4)]
    splits = {len(candidates(groups, 0.5, f"salt{s}")) for s in range(200)}
    assert splits == {2}
    # The plain salted hash gives 3/1 or worse for many salts: the reason for blocks.
    plain = [
        sum(r.variant == "candidate" for r in assign_groups([g[0] for g in groups],
            experiment="e", share=0.5, now=NOW, salt=f"salt{s}"))
        for s in range(200)
    ]  # fmt: skip
    assert any(n != 2 for n in plain)


def test_each_tag_and_size_band_is_split_evenly() -> None:
    rng = np.random.default_rng(5)
    sizes = rng.integers(20, 400, 32)
    groups = [(f"g{i}", int(sizes[i]), ["city:上海" if i % 2 else "city:北京"]) for i in range(32)]
    chosen = candidates(groups, 0.5, "demo")
    assert len(chosen) == 16
    for city in ("city:上海", "city:北京"):
        assert sum(g[0] in chosen for g in groups if g[2] == [city]) == 8
    mean_c = np.mean([g[1] for g in groups if g[0] in chosen])
    mean_p = np.mean([g[1] for g in groups if g[0] not in chosen])
    assert abs(mean_c - mean_p) < 0.1 * sizes.mean()


@pytest.mark.parametrize(("share", "n", "expected"), [(0.25, 8, 2), (0.75, 8, 6), (0.5, 5, 2)])
def test_other_shares_get_their_rounded_share(share: float, n: int, expected: int) -> None:
    groups = [(f"g{i}", 100 + i, []) for i in range(n)]
    assert len(candidates(groups, share, "x")) in (expected, expected + 1)


def test_the_same_salt_gives_the_same_split_and_another_salt_another() -> None:
    groups = [(f"g{i}", 100 + 10 * i, []) for i in range(16)]
    assert candidates(groups, 0.5, "a") == candidates(groups, 0.5, "a")
    assert len({frozenset(candidates(groups, 0.5, s)) for s in "abcdef"}) > 1
