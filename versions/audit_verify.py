"""The audit hash chain without a database: how a record is hashed and how a chain is checked.

A record's hash is sha256 over the canonical JSON (sort_keys, ensure_ascii=False, separators
(',', ':'), UTF-8) of every field except `id` and `hash`: seq, at, actor, action, sop_id,
version, before, after, note, prev_hash. `at` enters as fixed-width UTC text
(`2026-11-01T01:00:00.000000Z`, the same text the database stores), `before`/`after` as their
stored JSON text. The first record has seq 1 and prev_hash `GENESIS` (64 zeros); every later
record carries the hash of the one before it, so editing, deleting or reordering rows shows.

Git refs: an audit record that changes a ref under refs/tags/ or refs/aliases/ says so in its
`after` JSON as `{"refs": {"<ref name>": "<target commit sha or null>"}}` (null = ref deleted).
The expected state of a ref is the value in the latest record that mentions it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sop_models.errors import AuditError

GENESIS = "0" * 64
MANAGED_REF_PREFIXES = ("refs/tags/", "refs/aliases/")


class ChainRecord(Protocol):
    """What the chain needs of a stored record (AuditRecord satisfies it)."""

    seq: int
    at: datetime
    actor: str
    action: str
    sop_id: str
    version: str | None
    before: str | None
    after: str | None
    note: str
    prev_hash: str
    hash: str


def format_at(value: datetime) -> str:
    """A timezone-aware time as the fixed-width UTC text that is stored and hashed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise AuditError(f"audit time must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_at(text: str) -> datetime:
    """The stored UTC text back as an aware datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON with Chinese kept as is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def record_hash(record: ChainRecord, *, seq: int | None = None) -> str:
    """The hash a record must carry (optionally as if it sat at another `seq`)."""
    payload = {
        "seq": record.seq if seq is None else seq,
        "at": format_at(record.at),
        "actor": record.actor,
        "action": record.action,
        "sop_id": record.sop_id,
        "version": record.version,
        "before": record.before,
        "after": record.after,
        "note": record.note,
        "prev_hash": record.prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _true_positions(
    records: Sequence[ChainRecord], start: tuple[int, str] | None = None
) -> dict[str, int | None]:
    """Position of each record by following prev_hash links back to genesis, or to the
    verified record `start` (seq, hash) (None if broken)."""
    by_hash = {r.hash: r for r in records}
    known: dict[str, int | None] = {GENESIS: 0}
    if start is not None:
        known[start[1]] = start[0]
    for record in records:
        trail: list[str] = []
        current: str | None = record.hash
        while current is not None and current not in known and current not in trail:
            trail.append(current)
            parent = by_hash.get(current)
            current = parent.prev_hash if parent is not None else None
        base = known.get(current) if current is not None and current not in trail else None
        for offset, name in enumerate(reversed(trail), start=1):
            known[name] = None if base is None else base + offset
    return known


def _content_finding(record: ChainRecord, positions: dict[str, int | None]) -> str | None:
    if record_hash(record) == record.hash:
        return None
    true_seq = positions.get(record.hash)
    if true_seq and true_seq != record.seq and record_hash(record, seq=true_seq) == record.hash:
        return (
            f"audit record seq {record.seq} was moved: its content belongs at seq {true_seq}"
            " (records reordered)"
        )
    return f"audit record seq {record.seq} was edited: hash does not match its content"


def _missing(first: int, last: int, where: str = "") -> str:
    if first == last:
        return f"audit record seq {first}{where} is missing (deleted)"
    return f"audit records seq {first}-{last}{where} are missing (deleted)"


@dataclass(frozen=True)
class _Verified:
    """A record checked earlier, standing in for it at the start of the rest of the chain."""

    seq: int
    hash: str


def chain_findings(
    records: Sequence[ChainRecord],
    head: tuple[int, str] | None,
    *,
    start: tuple[int, str] | None = None,
) -> list[str]:
    """Problems in a chain given in seq order, and against the stored chain head (seq, hash).
    `start`: the records are the rest of a chain verified up to that record (seq, hash)."""
    findings: list[str] = []
    positions = _true_positions(records, start)
    previous: ChainRecord | _Verified | None = None if start is None else _Verified(*start)
    previous_flagged = False
    for record in records:
        problem = _content_finding(record, positions)
        if problem:
            findings.append(problem)
        expected_seq = previous.seq + 1 if previous else 1
        expected_prev = previous.hash if previous else GENESIS
        if record.seq > expected_seq:
            findings.append(_missing(expected_seq, record.seq - 1))
        elif not problem and not previous_flagged and record.prev_hash != expected_prev:
            after = f"seq {previous.seq}" if previous else "the start of the chain"
            findings.append(
                f"audit record seq {record.seq} does not follow {after}: its prev_hash does not"
                " match (records deleted, inserted or rewritten)"
            )
        previous, previous_flagged = record, problem is not None and "moved" in problem
    findings.extend(_head_findings(previous, head))
    return findings


def _head_findings(last: ChainRecord | _Verified | None, head: tuple[int, str] | None) -> list[str]:
    if head is None:
        return ["audit chain head is missing: the audit_head row was deleted"]
    head_seq, head_hash = head
    last_seq, last_hash = (last.seq, last.hash) if last else (0, GENESIS)
    if head_seq > last_seq:
        return [_missing(last_seq + 1, head_seq, " at the end")]
    if head_seq < last_seq:
        return [
            f"audit records after seq {head_seq} were added outside sopflow"
            f" (the chain head ends at seq {head_seq}, the table at seq {last_seq})"
        ]
    if head_hash != last_hash:
        return [f"audit record seq {last_seq} was rewritten: the chain head holds another hash"]
    return []


History = dict[str, tuple[str | None, int]]


def _ref_history(records: Iterable[ChainRecord], base: History | None = None) -> History:
    """Each ref -> (target, seq) from the latest record that mentions it (after `base`)."""
    state: History = dict(base or {})
    for record in sorted(records, key=lambda r: r.seq):
        if not record.after:
            continue
        try:
            data = json.loads(record.after)
        except ValueError:
            continue  # an edited row; the hash check reports it
        refs = data.get("refs") if isinstance(data, dict) else None
        if not isinstance(refs, dict):
            continue
        for name, target in refs.items():
            if target is None or isinstance(target, str):
                state[name] = (target, record.seq)
    return state


def expected_refs(records: Iterable[ChainRecord]) -> dict[str, str | None]:
    """Ref name -> target commit (None = deleted) as the audit trail says it should be."""
    return {name: target for name, (target, _) in _ref_history(records).items()}


def histories(
    records: Iterable[ChainRecord], base: Mapping[str, History] | None = None
) -> dict[str, History]:
    """What the records say refs and raw objects should be (`refs`, `objects`), after `base`."""
    listed = list(records)
    base = base or {}
    return {
        "refs": _ref_history(listed, base.get("refs")),
        "objects": _object_history(listed, base.get("objects")),
    }


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "nothing"


def ref_findings(
    records: Iterable[ChainRecord], git_refs: Mapping[str, str], *, base: History | None = None
) -> list[str]:
    """Tags and aliases whose actual target differs from the audit trail's last word (`base`:
    the refs as records before `records` left them)."""
    history = _ref_history(records, base)
    findings: list[str] = []
    for name in sorted(set(git_refs) | set(history)):
        if not name.startswith(MANAGED_REF_PREFIXES):
            continue
        actual = git_refs.get(name)
        target, seq = history.get(name, (None, None))
        if actual == target:
            continue
        if seq is None:
            findings.append(
                f"git ref {name} points at {_short(actual)} but no audit record mentions it"
            )
        elif actual is None:
            findings.append(
                f"git ref {name} is gone, but audit record seq {seq} set it to {_short(target)}"
            )
        elif target is None:
            findings.append(
                f"git ref {name} points at {_short(actual)}, but audit record seq {seq} deleted it"
            )
        else:
            findings.append(
                f"git ref {name} moved to {_short(actual)}, but audit record seq {seq}"
                f" set it to {_short(target)}"
            )
    return findings


ANCHOR_NAME = "refs/sopflow/audit-head"


@dataclass(frozen=True)
class GitFacts:
    """What git holds for the audit trail beyond ref targets: raw ref objects and types
    (tags, aliases, the evidence notes) and the anchored chain head."""

    raw_refs: Mapping[str, tuple[str, str]]
    anchor: tuple[int, str] | None


NOTES_REF = "refs/notes/evidence"


def _object_history(records: Iterable[ChainRecord], base: History | None = None) -> History:
    """Each ref -> (raw object id, seq) from the latest record's `after.objects`."""
    state: History = dict(base or {})
    for record in sorted(records, key=lambda r: r.seq):
        try:
            data = json.loads(record.after) if record.after else None
        except ValueError:
            continue
        objects = data.get("objects") if isinstance(data, dict) else None
        if isinstance(objects, dict):
            for name, oid in objects.items():
                if oid is None or isinstance(oid, str):
                    state[name] = (oid, record.seq)
    return state


def object_findings(
    records: Iterable[ChainRecord],
    raw_refs: Mapping[str, tuple[str, str]],
    *,
    base: History | None = None,
) -> list[str]:
    """Tags that are lightweight or whose tag object (tagger, changelog) was re-made, and
    evidence notes rewritten, against the objects the audit trail recorded."""
    history = _object_history(records, base)
    findings: list[str] = []
    for name, (oid, kind) in sorted(raw_refs.items()):
        if name.startswith("refs/tags/") and kind != "tag":
            findings.append(
                f"git tag {name} is a lightweight tag (no tagger, no changelog): sopflow"
                " versions are annotated tags"
            )
            continue
        recorded = history.get(name)
        if recorded is None:
            if name == NOTES_REF:
                findings.append(f"git ref {name} holds {_short(oid)} but no audit record has it")
            continue  # a tag saved before tag objects were recorded
        expected, seq = recorded
        if oid != expected:
            what = (
                "evidence notes rewritten"
                if name == NOTES_REF
                else ("tag re-made: its tagger or changelog changed")
            )
            findings.append(
                f"git ref {name} holds object {_short(oid)}, but audit record seq {seq}"
                f" recorded {_short(expected)} ({what})"
            )
    return findings


def anchor_findings(head: tuple[int, str] | None, anchor: tuple[int, str] | None) -> list[str]:
    """The chain head against the copy anchored in git with every record (`ANCHOR_NAME`):
    records deleted from the end with the head moved back show as an anchor ahead."""
    if head is None:
        return []
    seq, hash_ = head
    anchored_seq, anchored_hash = anchor or (0, GENESIS)
    if anchored_seq > seq:
        return [
            f"the git anchor {ANCHOR_NAME} says the chain reached seq {anchored_seq}, but the"
            f" database ends at seq {seq}: records at the end were deleted"
        ]
    if anchored_seq == seq and anchored_hash != hash_:
        return [f"audit record seq {seq} differs from the one anchored in git ({ANCHOR_NAME})"]
    if anchored_seq < seq:
        return [
            f"the git anchor {ANCHOR_NAME} is behind (seq {anchored_seq} of {seq}): records"
            " were written but not anchored (a crash in between?); run `sop audit repair`"
        ]
    return []
