"""Audited writes of the workspace files `calendar.json` and `overlays.json`.

`write_audited` replaces a file atomically and appends its audit record (who: the typed
name and the OS user, `李经理 (os:alice)`; what changed; the SHA-256 of the new bytes) in one
step: when the record cannot be committed the previous bytes are put back, so the file and
the trail never disagree. The caller holds the file's lock. `sop audit verify` compares the
files with the last record naming them (`versions.audit_files`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.cli_identity import os_user, signed
from services.workspace import Workspace
from versions import audit
from versions.audit_files import AUDITED_FILES, file_findings, file_hash


def _replace(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
        return
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_audited(
    ws: Workspace,
    *,
    name: str,
    text: str,
    action: str,
    sop_id: str,
    by: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    note: str,
    now: datetime | None = None,
) -> None:
    """Write `text` to workspace file `name` and audit it (see the module docstring);
    `by` defaults to the OS login name, `now` to the current time."""
    path = ws.root / name
    old = path.read_bytes() if path.exists() else None
    data = text.encode("utf-8")
    _replace(path, data)
    user = os_user()
    try:
        with ws.session() as session:
            audit.append(
                session,
                actor=signed(by or user, user),
                action=action,
                sop_id=sop_id,
                version=None,
                before=before,
                after={**after, "files": {name: file_hash(data)}},
                note=note,
                now=now or datetime.now(UTC),
            )
            session.commit()
    except BaseException:
        _replace(path, old)
        raise


def workspace_file_findings(ws: Workspace) -> list[str]:
    """Audited workspace files that differ from their last audit record, one line each."""
    actual = {}
    for name in AUDITED_FILES:
        path = ws.root / name
        actual[name] = file_hash(path.read_bytes() if path.exists() else None)
    with ws.session() as session:
        return file_findings(audit.query(session), actual)
