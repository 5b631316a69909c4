"""The console's incremental audit check: only records after the last clean check are hashed,
yet any change to the older rows still shows, and a full check reads everything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services import audit_trail
from services.workspace import Workspace
from tests.support.console import T0, client, log_in, with_accounts, with_versions
from versions import services
from versions.audit_checkpoint import AuditCheckpoint

LATER = T0 + timedelta(days=1)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return with_versions(with_accounts(workspace))


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        log_in(c, "李经理")
        yield c


def _sql(ws: Workspace, statement: str) -> None:
    with ws.engine.begin() as conn:
        conn.execute(text(statement))


def test_a_second_check_hashes_only_the_records_added_since_the_first(ws: Workspace) -> None:
    first = audit_trail.verify_recent(ws, now=T0)
    services.set_candidate(
        ws.uow(), sop_id="mombaby-refined", version="2.0", actor="小王", now=LATER
    )
    second = audit_trail.verify_recent(ws, now=LATER)

    assert first.findings == [] and first.since is None
    assert second.findings == []
    assert second.since is not None and second.since.seq == first.last
    assert second.last == first.last + 1


def test_a_row_edited_by_hand_before_the_checkpoint_still_turns_the_banner_red(
    ws: Workspace, web: TestClient
) -> None:
    assert 'class="banner ok"' in web.get("/audit").text  # the checkpoint is taken here
    _sql(ws, "UPDATE audit_log SET note = '改过' WHERE seq = 1")

    page = web.get("/audit").text

    assert 'role="alert"' in page and "audit record seq 1 was edited" in page


def test_a_row_deleted_before_the_checkpoint_shows_as_missing(ws: Workspace) -> None:
    audit_trail.verify_recent(ws, now=T0)
    _sql(ws, "DELETE FROM audit_log WHERE seq = 2")

    found = audit_trail.verify_recent(ws, now=LATER).findings

    assert "audit record seq 2 is missing (deleted)" in found


def test_a_row_added_outside_sopflow_after_the_checkpoint_is_reported(ws: Workspace) -> None:
    first = audit_trail.verify_recent(ws, now=T0)
    _sql(
        ws,
        "INSERT INTO audit_log (seq, at, actor, action, sop_id, note, prev_hash, hash) VALUES "
        f"({first.last + 1}, '2026-09-02T00:00:00.000000Z', '某人', 'save', 'x', '', 'p', 'h')",
    )

    found = audit_trail.verify_recent(ws, now=LATER).findings

    assert any(f"audit records after seq {first.last} were added" in f for f in found), found


def test_an_edit_that_also_forges_the_checkpoint_digest_is_found_by_the_full_check(
    ws: Workspace, web: TestClient
) -> None:
    audit_trail.verify_recent(ws, now=T0)
    _sql(ws, "UPDATE audit_log SET note = '改过' WHERE seq = 1")
    forged = audit_trail.verify_recent(ws, now=LATER)  # hashes it: red, checkpoint not moved
    assert any("seq 1 was edited" in f for f in forged.findings)
    with ws.session() as session:  # now someone also rewrites the stored digest
        from versions.audit_checkpoint import _digest

        rows = session.execute(
            text("SELECT seq, at, actor, action, sop_id, version, before, after, note, prev_hash,"
                 " hash FROM audit_log ORDER BY seq")
        ).all()  # fmt: skip
        point = session.get(AuditCheckpoint, 1)
        assert point is not None
        point.digest = _digest([r for r in rows if r[0] <= point.seq])
        session.add(point)
        session.commit()

    page = web.get("/audit?full=1").text

    assert "audit record seq 1 was edited" in page
