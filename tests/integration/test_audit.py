"""The audit trail on SQLite and PostgreSQL: appending, querying, and catching tampering."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from services.db import make_engine
from sop_models.errors import AuditError
from versions import audit
from versions.audit_verify import GENESIS, expected_refs, record_hash

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
TAG1 = "refs/tags/welcome-flow/v1.0"
TAG2 = "refs/tags/welcome-flow/v2.0"
PROD = "refs/aliases/welcome-flow/production"
SHA1, SHA2, SHA3 = "a" * 40, "b" * 40, "c" * 40


def add(engine: Engine, n: int = 0, **fields: Any) -> audit.AuditRecord:
    """Append one record in its own committed transaction."""
    values: dict[str, Any] = {
        "actor": "小王",
        "action": "save",
        "sop_id": "welcome-flow",
        "version": f"1.{n}",
        "before": None,
        "after": None,
        "note": f"第 {n} 次修改：欢迎语更亲切",
        "now": T0,
    }
    values.update(fields)
    with Session(engine, expire_on_commit=False) as session:
        record = audit.append(session, **values)
        session.commit()
    return record


def fill(engine: Engine, count: int) -> None:
    for n in range(count):
        add(engine, n, now=T0 + timedelta(minutes=n))


def verify(engine: Engine, git_refs: dict[str, str] | None = None) -> list[str]:
    with Session(engine) as session:
        return audit.verify(session, git_refs=git_refs)


def sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_record_hash_is_sha256_of_documented_canonical_json() -> None:
    record = SimpleNamespace(
        seq=1,
        at=T0,
        actor="小王",
        action="save",
        sop_id="welcome-flow",
        version="1.0",
        before=None,
        after='{"refs":{}}',
        note="首版",
        prev_hash=GENESIS,
        hash="",
    )
    canonical = (
        '{"action":"save","actor":"小王","after":"{\\"refs\\":{}}","at":'
        '"2026-11-01T01:00:00.000000Z","before":null,"note":"首版","prev_hash":"'
        + GENESIS
        + '","seq":1,"sop_id":"welcome-flow","version":"1.0"}'
    )
    assert record_hash(record) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_appended_records_form_a_verified_chain_with_chinese_intact(db_engine: Engine) -> None:
    add(db_engine, 0, after={"refs": {TAG1: SHA1}, "说明": "首版上线"})
    add(db_engine, 1, action="promote", actor="李经理", before={"production": None})
    with Session(db_engine) as session:
        records = audit.query(session)
    assert [r.seq for r in records] == [1, 2]
    assert records[0].prev_hash == GENESIS and records[1].prev_hash == records[0].hash
    assert records[0].at == T0 and records[0].at.tzinfo is not None
    assert records[0].note == "第 0 次修改：欢迎语更亲切"
    assert json.loads(records[0].after or "") == {"refs": {TAG1: SHA1}, "说明": "首版上线"}
    assert records[1].as_dict()["before"] == {"production": None}
    with db_engine.connect() as conn:
        stored = conn.execute(text("SELECT after FROM audit_log WHERE seq = 1")).scalar_one()
    assert "首版上线" in stored and "\\u" not in stored
    assert verify(db_engine, {TAG1: SHA1}) == []


def test_append_does_not_commit_so_a_rollback_leaves_no_record(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        audit.append(
            session,
            actor="小王",
            action="save",
            sop_id="welcome-flow",
            version="1.0",
            before=None,
            after=None,
            note="会被撤销",
            now=T0,
        )
        session.rollback()
    first = add(db_engine, 1)
    assert first.seq == 1 and first.prev_hash == GENESIS
    assert verify(db_engine) == []


def test_append_refuses_a_naive_time_and_an_empty_actor(db_engine: Engine) -> None:
    with Session(db_engine) as session, pytest.raises(AuditError, match="timezone-aware"):
        audit.append(
            session,
            actor="小王",
            action="save",
            sop_id="s",
            version=None,
            before=None,
            after=None,
            note="",
            now=datetime(2026, 11, 1, 9, 0),
        )
    with Session(db_engine) as session, pytest.raises(AuditError, match="actor must not be empty"):
        audit.append(
            session,
            actor=" ",
            action="save",
            sop_id="s",
            version=None,
            before=None,
            after=None,
            note="",
            now=T0,
        )


def test_verify_reports_an_edited_row(db_engine: Engine) -> None:
    fill(db_engine, 5)
    sql(db_engine, "UPDATE audit_log SET note = '改过的说明' WHERE seq = 3")
    assert verify(db_engine) == ["audit record seq 3 was edited: hash does not match its content"]


def test_verify_reports_a_row_rewritten_with_a_fresh_hash(db_engine: Engine) -> None:
    fill(db_engine, 4)
    with Session(db_engine) as session:
        record = audit.query(session)[1]
        record.actor = "冒充者"
        record.hash = record_hash(record)
        session.add(record)
        session.commit()
    assert verify(db_engine) == [
        "audit record seq 3 does not follow seq 2: its prev_hash does not match"
        " (records deleted, inserted or rewritten)"
    ]


def test_verify_reports_a_deleted_row(db_engine: Engine) -> None:
    fill(db_engine, 6)
    sql(db_engine, "DELETE FROM audit_log WHERE seq IN (3, 4)")
    assert verify(db_engine) == ["audit records seq 3-4 are missing (deleted)"]


def test_verify_reports_rows_deleted_at_the_end(db_engine: Engine) -> None:
    fill(db_engine, 4)
    sql(db_engine, "DELETE FROM audit_log WHERE seq = 4")
    assert verify(db_engine) == ["audit record seq 4 at the end is missing (deleted)"]


def test_verify_reports_reordered_rows(db_engine: Engine) -> None:
    fill(db_engine, 5)
    sql(
        db_engine,
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -1",
    )
    assert verify(db_engine) == [
        "audit record seq 2 was moved: its content belongs at seq 3 (records reordered)",
        "audit record seq 3 was moved: its content belongs at seq 2 (records reordered)",
    ]


def test_verify_reports_tags_and_aliases_that_moved_without_a_record(db_engine: Engine) -> None:
    add(db_engine, 0, after={"refs": {TAG1: SHA1}})
    add(db_engine, 1, action="promote", after={"refs": {PROD: SHA1}})
    add(db_engine, 2, action="rollback", after={"refs": {PROD: None}})
    assert verify(db_engine, {TAG1: SHA1, "refs/heads/main": SHA3}) == []
    actual = {TAG1: SHA2, TAG2: SHA3, PROD: SHA1, "refs/notes/evidence": SHA3}
    assert verify(db_engine, actual) == [
        f"git ref {PROD} points at {SHA1[:12]}, but audit record seq 3 deleted it",
        f"git ref {TAG1} moved to {SHA2[:12]}, but audit record seq 1 set it to {SHA1[:12]}",
        f"git ref {TAG2} points at {SHA3[:12]} but no audit record mentions it",
    ]
    assert verify(db_engine, {}) == [
        f"git ref {TAG1} is gone, but audit record seq 1 set it to {SHA1[:12]}"
    ]


def test_expected_refs_take_the_latest_record_that_mentions_each_ref(db_engine: Engine) -> None:
    add(db_engine, 0, after={"refs": {TAG1: SHA1, PROD: SHA1}})
    add(db_engine, 1, after={"evidence": {"summary": "打开率上升"}})
    add(db_engine, 2, after={"refs": {PROD: SHA2}})
    add(db_engine, 3, after={"refs": {TAG1: None}})
    with Session(db_engine) as session:
        assert expected_refs(audit.query(session)) == {TAG1: None, PROD: SHA2}


def test_query_filters_by_sop_actor_action_and_time_range(db_engine: Engine) -> None:
    add(db_engine, 0, now=T0)
    add(db_engine, 1, actor="李经理", action="promote", now=T0 + timedelta(hours=1))
    add(db_engine, 2, sop_id="mombaby-refined", now=T0 + timedelta(hours=2))
    add(db_engine, 3, actor="李经理", action="reject", now=T0 + timedelta(days=1))
    with Session(db_engine) as session:

        def seqs(**filters: Any) -> list[int]:
            return [r.seq for r in audit.query(session, **filters)]

        assert seqs(sop_id="welcome-flow") == [1, 2, 4]
        assert seqs(actor="李经理") == [2, 4]
        assert seqs(action="promote") == [2]
        assert seqs(actor="李经理", action="reject") == [4]
        # since is inclusive, until exclusive; other time zones compare by instant
        assert seqs(since=T0.astimezone(UTC) + timedelta(hours=1)) == [2, 3, 4]
        assert seqs(since=T0, until=T0 + timedelta(hours=2)) == [1, 2]
        assert seqs(until=datetime(2026, 11, 1, 2, 0, tzinfo=UTC)) == [1]
        assert seqs(limit=2) == [1, 2]
        assert seqs(sop_id="不存在") == []


def test_an_append_waits_while_verify_holds_the_chain(db_url: str, db_engine: Engine) -> None:
    fill(db_engine, 2)
    appending, done = threading.Event(), threading.Event()

    def append_elsewhere() -> None:
        engine = make_engine(db_url)
        try:
            appending.set()
            add(engine, 9, note="等待中")
            done.set()
        finally:
            engine.dispose()

    with Session(db_engine) as session:
        assert audit.verify(session) == []
        writer = threading.Thread(target=append_elsewhere)
        writer.start()
        assert appending.wait(30), "the writer thread never got to its append"
        # A lower bound kept on purpose: the append must still be blocked half a second later.
        assert not done.wait(0.5), "append went ahead while verify held the chain"
    writer.join(timeout=30)
    assert done.is_set()
    assert verify(db_engine) == []


PER_PROCESS = 25


def _append_many(url: str, actor: str, start: Barrier) -> None:
    """Child process: connect, wait at the barrier for the other child, append 25 rows."""
    engine = make_engine(url)
    with engine.connect():
        pass  # connected before the start, so both children append together
    start.wait(timeout=60)
    for n in range(PER_PROCESS):
        with Session(engine) as session:
            audit.append(
                session,
                actor=actor,
                action="save",
                sop_id="welcome-flow",
                version=f"1.{n}",
                before=None,
                after={"n": n},
                note=f"{actor} 第{n}条",
                now=datetime.now(UTC),
            )
            session.commit()
    engine.dispose()


def test_concurrent_appends_from_two_processes_keep_one_valid_chain(
    db_url: str, db_engine: Engine
) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    workers = [ctx.Process(target=_append_many, args=(db_url, who, start)) for who in "甲乙"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    with Session(db_engine) as session:
        records = audit.query(session)
    assert [r.seq for r in records] == list(range(1, 2 * PER_PROCESS + 1))
    assert sorted(r.actor for r in records) == ["乙"] * PER_PROCESS + ["甲"] * PER_PROCESS
    assert verify(db_engine) == []
