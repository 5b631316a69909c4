"""Experiment assignment (salted hash, share, by group or member) and the sample ratio check."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

import pytest
from scipy import stats

from engine.experiment import (
    CANDIDATE,
    PRODUCTION,
    assign_groups,
    assign_members,
    assign_variant,
    assignment_srm,
    bucket,
)
from engine.stats import srm_check

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_assignment_is_deterministic_and_pinned_across_runs() -> None:
    # sha256-based, so the same unit lands in the same arm on every machine and Python.
    assert bucket("group-001", "welcome-v2") == bucket("group-001", "welcome-v2")
    assert [assign_variant(f"group-{i:03d}", "welcome-v2", 0.5) for i in range(6)] == [
        assign_variant(f"group-{i:03d}", "welcome-v2", 0.5) for i in range(6)
    ]
    pinned = {f"g{i}": assign_variant(f"g{i}", "exp-2026-11", 0.5) for i in range(8)}
    assert pinned == PINNED


PINNED = {
    "g0": "candidate",
    "g1": "production",
    "g2": "candidate",
    "g3": "production",
    "g4": "production",
    "g5": "candidate",
    "g6": "production",
    "g7": "production",
}


def test_bucket_is_the_documented_salted_sha256_rule() -> None:
    # The rule other tools (SQL, reports) can reproduce: first 8 bytes of sha256(salt 0x1f id).
    digest = hashlib.sha256(b"exp-2026-11\x1fg0").digest()
    assert bucket("g0", "exp-2026-11") == int.from_bytes(digest[:8], "big") / 2.0**64


def test_share_is_respected_within_binomial_error() -> None:
    n = 20000
    for share in (0.1, 0.5, 0.8):
        hits = sum(assign_variant(f"m{i}", "exp", share) == CANDIDATE for i in range(n))
        assert abs(hits / n - share) <= 4 * math.sqrt(share * (1 - share) / n)


def test_growing_the_share_keeps_earlier_candidates_in_the_candidate_arm() -> None:
    units = [f"m{i}" for i in range(2000)]
    at_10 = {u for u in units if assign_variant(u, "exp", 0.1) == CANDIDATE}
    at_30 = {u for u in units if assign_variant(u, "exp", 0.3) == CANDIDATE}
    assert at_10 < at_30


def test_different_salts_reshuffle_units() -> None:
    units = [f"m{i}" for i in range(2000)]
    first = [assign_variant(u, "exp-a", 0.5) for u in units]
    second = [assign_variant(u, "exp-b", 0.5) for u in units]
    agree = sum(a == b for a, b in zip(first, second, strict=True)) / len(units)
    assert 0.45 < agree < 0.55


def test_share_edges_and_bad_share() -> None:
    assert assign_variant("m1", "exp", 0.0) == PRODUCTION
    assert assign_variant("m1", "exp", 1.0) == CANDIDATE
    with pytest.raises(ValueError, match="share"):
        assign_variant("m1", "exp", 1.5)


def test_by_group_every_member_of_a_group_gets_the_same_variant() -> None:
    members = [(f"m{i}", f"g{i % 16}") for i in range(16 * 50)]
    records = assign_members(members, experiment="welcome-v2", share=0.5, now=NOW)
    by_group: dict[str, set[str]] = {}
    for r in records:
        by_group.setdefault(r.group_id or "", set()).add(r.variant)
        assert r.unit_id == r.group_id and r.by == "group" and r.assigned_at == NOW
    assert all(len(v) == 1 for v in by_group.values())
    assert {next(iter(v)) for v in by_group.values()} == {CANDIDATE, PRODUCTION}
    groups = assign_groups(
        [f"g{i}" for i in range(16)], experiment="welcome-v2", share=0.5, now=NOW
    )
    assert {g.group_id: g.variant for g in groups} == {
        k: next(iter(v)) for k, v in by_group.items()
    }


def test_by_member_splits_members_inside_a_group() -> None:
    members = [(f"m{i}", "g1") for i in range(400)]
    records = assign_members(members, experiment="exp", share=0.5, now=NOW, by="member")
    assert {r.variant for r in records} == {CANDIDATE, PRODUCTION}
    assert all(r.unit_id == r.member_id for r in records)
    record = records[0].as_dict()
    assert record["assigned_at"] == "2026-11-23T09:00:00+00:00"
    assert record["salt"] == "exp" and record["share"] == 0.5


def test_srm_matches_scipy_chisquare_and_flags_below_one_in_a_thousand() -> None:
    result = srm_check(4900, 5100, 0.5)
    assert result.p_value == pytest.approx(stats.chisquare([4900, 5100]).pvalue)
    assert result.ok
    flagged = srm_check(1000, 1200, 0.5)
    assert flagged.p_value < 0.001 and not flagged.ok
    uneven = srm_check(905, 95, expected_share=0.1)
    assert uneven.ok
    assert not srm_check(500, 500, expected_share=0.1).ok
    assert srm_check(0, 0).ok


def test_srm_over_assignment_records_counts_randomization_units() -> None:
    members = [(f"m{i}", f"g{i % 16}") for i in range(16 * 200)]
    records = assign_members(members, experiment="welcome-v2", share=0.5, now=NOW)
    srm = assignment_srm(records, 0.5)
    assert srm.n_baseline + srm.n_candidate == 16
