"""Experiment assignment: which groups (or members) get the candidate SOP version.

A unit goes to the candidate when a salted SHA-256 hash of its id falls below the configured
share, so the split is deterministic (the same unit, salt and share always give the same arm),
independent between experiments with different salts, and stable when the share grows: a unit
in the candidate at 10% stays there at 20%. By default whole groups are randomized (every member
of a group sees the same SOP, which members of a chat group would notice otherwise); by member
is for one-to-one channels. Assignments come back as plain records for the caller to store.

`sop experiment` assigns groups with `assign_groups_balanced`: matched blocks of like groups
(same tags, similar size), the hash deciding within each block, so few groups still split
evenly (4 groups: 2/2) and both arms get a like mix of big and small groups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from engine.stats.srm import SrmResult, srm_check

PRODUCTION = "production"
CANDIDATE = "candidate"
Variant = Literal["production", "candidate"]
AssignBy = Literal["group", "member"]


@dataclass(frozen=True)
class Assignment:
    """One recorded assignment: which member (or group) got which variant, and under what rule."""

    experiment: str
    member_id: str | None
    group_id: str | None
    unit_id: str
    by: AssignBy
    variant: Variant
    share: float
    salt: str
    assigned_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO-8601 time)."""
        data = asdict(self)
        data["assigned_at"] = self.assigned_at.isoformat()
        return data


def bucket(unit_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by the salt and the unit id."""
    digest = hashlib.sha256(f"{salt}\x1f{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_variant(unit_id: str, salt: str, share: float) -> Variant:
    """`candidate` for a `share` fraction of unit ids (by salted hash), else `production`."""
    _check_share(share)
    return CANDIDATE if bucket(unit_id, salt) < share else PRODUCTION


def assign_members(
    members: Iterable[tuple[str, str]],
    *,
    experiment: str,
    share: float,
    now: datetime,
    by: AssignBy = "group",
    salt: str | None = None,
) -> list[Assignment]:
    """Assign (member_id, group_id) pairs; by group every member follows its group's hash.

    The salt defaults to the experiment name, so a new experiment reshuffles units.
    """
    key = experiment if salt is None else salt
    records = []
    for member_id, group_id in members:
        unit = group_id if by == "group" else member_id
        records.append(
            Assignment(
                experiment=experiment,
                member_id=member_id,
                group_id=group_id,
                unit_id=unit,
                by=by,
                variant=assign_variant(unit, key, share),
                share=share,
                salt=key,
                assigned_at=now,
            )
        )
    return records


def assign_groups(
    group_ids: Iterable[str],
    *,
    experiment: str,
    share: float,
    now: datetime,
    salt: str | None = None,
) -> list[Assignment]:
    """Assign whole groups (the default design): one record per group."""
    key = experiment if salt is None else salt
    return [
        Assignment(
            experiment=experiment,
            member_id=None,
            group_id=group_id,
            unit_id=group_id,
            by="group",
            variant=assign_variant(group_id, key, share),
            share=share,
            salt=key,
            assigned_at=now,
        )
        for group_id in group_ids
    ]


def assign_groups_balanced(
    groups: Iterable[tuple[str, int, Sequence[str]]],
    *,
    experiment: str,
    share: float,
    now: datetime,
    salt: str | None = None,
) -> list[Assignment]:
    """Assign whole groups in matched blocks: groups with the same tags, sorted by size, are cut
    into blocks of about 1 / share (2 at half), and in each block the salted hash picks which
    get the candidate (round(share x block), carrying the remainder over). Four groups split
    2/2, never 3/1, and each arm gets a like mix of big and small groups. Unlike `assign_groups`
    a group's arm depends on the other groups, so it is decided once and recorded."""
    _check_share(share)
    key = experiment if salt is None else salt
    rows = sorted(groups, key=lambda g: (sorted(g[2]), -g[1], bucket(g[0], key)))
    minority = min(share, 1 - share)
    size = max(2, round(1 / minority)) if minority > 0 else max(1, len(rows))
    chosen: set[str] = set()
    owed = 0.0
    for start in range(0, len(rows), size):
        block = sorted(rows[start : start + size], key=lambda g: bucket(g[0], key))
        owed += share * len(block)
        take = min(len(block), round(owed))
        chosen.update(g[0] for g in block[:take])
        owed -= take
    return [
        Assignment(
            experiment=experiment,
            member_id=None,
            group_id=g[0],
            unit_id=g[0],
            by="group",
            variant=CANDIDATE if g[0] in chosen else PRODUCTION,
            share=share,
            salt=key,
            assigned_at=now,
        )
        for g in sorted(rows, key=lambda g: g[0])
    ]


def assignment_srm(records: Iterable[Assignment], share: float) -> SrmResult:
    """Sample ratio check over the randomization units of stored assignment records."""
    arms: dict[str, str] = {}
    for record in records:
        arms[record.unit_id] = record.variant
    n_candidate = sum(1 for v in arms.values() if v == CANDIDATE)
    return srm_check(len(arms) - n_candidate, n_candidate, share)


def _check_share(share: float) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"candidate share must be between 0 and 1, got {share}")
