"""The audit chain head anchored in git after every commit that appended records.

`versions.audit.append` notes the head it wrote in the session; when that session commits,
the callable the workspace put in `session.info[ANCHOR_WRITER]` (the store's
`set_audit_anchor`) writes it into `refs/sopflow/audit-head`. Verify compares the two, so
records deleted at the end with the head moved back show. A missed anchor (a crash right
after the commit) shows as "behind", and `sop audit repair` re-anchors.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

# session.info key: a callable(seq, hash) that anchors the chain head in git.
ANCHOR_WRITER = "sopflow.audit_anchor"
_WRITTEN = "sopflow.audit_head_written"


def note_written(session: Session, seq: int, hash_: str) -> None:
    """Remember the head this session's transaction wrote, to anchor after its commit."""
    session.info[_WRITTEN] = (seq, hash_)


@event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    head = session.info.pop(_WRITTEN, None)
    writer = session.info.get(ANCHOR_WRITER)
    if head is not None and writer is not None:
        try:
            writer(*head)
        except Exception:  # a missed anchor shows in verify as "behind"; repair re-anchors
            return


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
