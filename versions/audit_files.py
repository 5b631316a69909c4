"""Workspace files under audit: `calendar.json` and `overlays.json` change only through sopflow.

Every change sopflow makes to one of them appends an audit record whose `after` names the
file and the SHA-256 of its new bytes (`{"files": {"calendar.json": "<sha256>"}}`; None when
the change removed the file). `file_findings` compares the files as they are with the last
record naming each: a file edited, replaced or deleted by hand (or written before sopflow
audited it) is one line. Pure: the caller reads the records and hashes the files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from versions.audit_verify import ChainRecord

AUDITED_FILES = ("calendar.json", "overlays.json")


def file_hash(data: bytes | None) -> str | None:
    """The SHA-256 (hex) of a file's bytes; None for a missing file."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def audited_hashes(
    records: Iterable[ChainRecord], base: Mapping[str, tuple[str | None, int]] | None = None
) -> dict[str, tuple[str | None, int]]:
    """Each audited file -> (hash, seq) from the latest record that names it (after `base`)."""
    state: dict[str, tuple[str | None, int]] = dict(base or {})
    for record in sorted(records, key=lambda r: r.seq):
        try:
            data = json.loads(record.after) if record.after else None
        except ValueError:
            continue  # an edited row; the hash chain check reports it
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict):
            continue
        for name, digest in files.items():
            if digest is None or isinstance(digest, str):
                state[name] = (digest, record.seq)
    return state


def file_findings(
    records: Iterable[ChainRecord],
    actual: Mapping[str, str | None],
    *,
    base: Mapping[str, tuple[str | None, int]] | None = None,
) -> list[str]:
    """One line per audited file whose actual hash is not the one last audited."""
    history = audited_hashes(records, base)
    found = []
    for name in sorted(actual):
        now = actual[name]
        digest, seq = history.get(name, (None, None))
        if now == digest:
            continue
        if seq is None:
            found.append(
                f"{name} was written outside sopflow: no audit record names it "
                f"(sha256 {now[:12] if now else '-'}); check it, then change it through "
                "sopflow (`sop calendar set|import`, `sop overlay attach|detach`) to record it"
            )
        elif now is None:
            found.append(f"{name} was deleted outside sopflow (last audited in record {seq})")
        else:
            found.append(
                f"{name} was edited outside sopflow: sha256 {now[:12]} is not "
                f"{(digest or '-')[:12]} of audit record {seq}"
            )
    return found
