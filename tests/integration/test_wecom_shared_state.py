"""The WeCom access_token and 45009 blocks shared through the database, across processes."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from engine.wecom.client import WeComClient
from engine.wecom.errors import WeComRateLimited
from engine.wecom.shared_state import DatabaseBlockBoard, DatabaseTokenCache
from engine.wecom.transport import RetryPolicy
from services.db import make_engine
from tests.support.wecom_fake import FakeWeCom

FOLLOW = "externalcontact/get_follow_user_list"


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        fake.follow_users = {"zhangsan"}
        yield fake


def _client(
    fake_url: str,
    corpid: str,
    secret: str,
    engine: Engine,
    *,
    blocks: DatabaseBlockBoard | None = None,
    retry: RetryPolicy | None = None,
) -> WeComClient:
    return WeComClient(
        corpid=corpid,
        corpsecret=secret,
        base_url=fake_url,
        clock=time.time,
        token_cache=DatabaseTokenCache(engine, secret=secret),
        blocks=blocks,
        retry=retry or RetryPolicy(base_delay=0.01),
    )


def _die_while_fetching(db_url: str, url: str, corpid: str) -> None:
    """Child process: take the fetch lease and die before storing a token."""
    engine = make_engine(db_url)
    cache = DatabaseTokenCache(engine, secret="s", lease_seconds=0.5)
    cache.obtain((url, corpid, "digest"), time.time, lambda: os._exit(9))


def _call_in_child(
    db_url: str, url: str, corpid: str, secret: str, start: Barrier, out: str, block: float
) -> None:
    """Child process: connect, wait for the others, call one API twice, record the answers."""
    engine = make_engine(db_url)
    with engine.connect():
        pass
    blocks = DatabaseBlockBoard(engine, block_seconds=block)
    with _client(url, corpid, secret, engine, blocks=blocks) as client:
        start.wait(timeout=60)
        answers = [client.call(FOLLOW, method="GET", idempotent=True) for _ in range(2)]
    Path(out).write_text(" ".join(str(a.payload["errcode"]) for a in answers), encoding="utf-8")
    engine.dispose()


def _run_children(db_url: str, wecom: FakeWeCom, tmp_path: Path, n: int, block: float) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(n)
    outs = [tmp_path / f"child{i}.txt" for i in range(n)]
    args = (db_url, wecom.base_url, wecom.corpid, wecom.corpsecret, start)
    children = [
        context.Process(target=_call_in_child, args=(*args, str(out), block)) for out in outs
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    assert [out.read_text() for out in outs] == ["0 0"] * n


def test_four_processes_fetch_one_token_together(
    engine_db: Engine, db_url: str, wecom: FakeWeCom, tmp_path: Path
) -> None:
    _run_children(db_url, wecom, tmp_path, 4, block=60.0)

    assert len(wecom.calls("gettoken")) == 1
    assert len(wecom.calls(FOLLOW)) == 8


def test_a_rejected_token_is_renewed_once_for_every_process(
    engine_db: Engine, db_url: str, wecom: FakeWeCom
) -> None:
    other_engine = make_engine(db_url)  # as another process would have
    try:
        first = _client(wecom.base_url, wecom.corpid, wecom.corpsecret, engine_db)
        second = _client(wecom.base_url, wecom.corpid, wecom.corpsecret, other_engine)
        first.call(FOLLOW, method="GET", idempotent=True)
        second.call(FOLLOW, method="GET", idempotent=True)
        assert wecom.tokens_issued == 1

        wecom.invalidate_tokens()  # WeCom dropped it early: the next call gets 40014
        first.call(FOLLOW, method="GET", idempotent=True)  # 40014: drops it, fetches anew
        second.call(FOLLOW, method="GET", idempotent=True)  # 40014: reads first's new token

        assert wecom.tokens_issued == 2
        (renewed,) = wecom.tokens
        used = [c.query["access_token"] == renewed for c in wecom.calls(FOLLOW)[2:]]
        assert used == [False, True, False, True]
        first.close()
        second.close()
    finally:
        other_engine.dispose()


def test_a_dead_fetchers_lease_expires_and_another_process_fetches(
    engine_db: Engine, db_url: str, wecom: FakeWeCom
) -> None:
    context = multiprocessing.get_context("spawn")
    dying = context.Process(target=_die_while_fetching, args=(db_url, wecom.base_url, wecom.corpid))
    dying.start()
    dying.join(timeout=60)
    assert dying.exitcode == 9
    with engine_db.connect() as connection:
        (lease_until,) = connection.execute(text("SELECT lease_until FROM wecom_tokens")).one()

    live = DatabaseTokenCache(engine_db, secret="s")
    key = (wecom.base_url, wecom.corpid, "digest")
    value = live.obtain(key, time.time, lambda: ("token-from-live", time.time() + 100))

    assert value == "token-from-live"
    assert time.time() >= lease_until  # it waited for the dead lease to run out, then fetched
    assert live.get(key, time.time()) == "token-from-live"


def test_the_database_holds_neither_the_secret_nor_the_token_in_clear(
    engine_db: Engine, wecom: FakeWeCom
) -> None:
    with _client(wecom.base_url, wecom.corpid, wecom.corpsecret, engine_db) as client:
        client.call(FOLLOW, method="GET", idempotent=True)
    with engine_db.connect() as connection:
        rows = connection.execute(text("SELECT * FROM wecom_tokens")).all()
    (token,) = wecom.tokens
    assert len(rows) == 1 and rows[0].token
    assert all(value not in repr(rows) for value in (wecom.corpsecret, wecom.corpid, token))
    other = DatabaseTokenCache(engine_db, secret="another app's secret")
    digest = hashlib.sha256(wecom.corpsecret.encode()).hexdigest()[:16]
    key = (wecom.base_url.rstrip("/") + "/", wecom.corpid, digest)
    assert other.get(key, time.time()) is None  # the row is there, but sealed with the secret
    assert DatabaseTokenCache(engine_db, secret=wecom.corpsecret).get(key, time.time()) == token


def test_a_45009_in_one_process_holds_back_every_other_process(
    engine_db: Engine, db_url: str, wecom: FakeWeCom, tmp_path: Path
) -> None:
    wecom.block_seconds = 2.0
    wecom.fail_next(FOLLOW, 45009)
    blocks = DatabaseBlockBoard(engine_db, block_seconds=2.0)
    no_wait = RetryPolicy(block_wait=0)  # this one gives up at once and leaves the block
    with (
        _client(
            wecom.base_url, wecom.corpid, wecom.corpsecret, engine_db, blocks=blocks, retry=no_wait
        ) as first,
        pytest.raises(WeComRateLimited),
    ):
        first.call(FOLLOW, method="GET", idempotent=True)

    _run_children(db_url, wecom, tmp_path, 3, block=2.0)

    refused, *later = wecom.calls(FOLLOW)
    assert len(later) == 6
    # Every other process waited the block out instead of calling into it (and being refused).
    assert all(call.at >= refused.at + wecom.block_seconds - 0.05 for call in later)


def test_a_block_longer_than_one_wait_is_raised_without_calling_wecom(
    engine_db: Engine, wecom: FakeWeCom
) -> None:
    blocks = DatabaseBlockBoard(engine_db, block_seconds=3600.0)  # an hourly limit
    blocks.block((wecom.base_url.rstrip("/") + "/", wecom.corpid, FOLLOW))
    client = _client(wecom.base_url, wecom.corpid, wecom.corpsecret, engine_db, blocks=blocks)
    with client, pytest.raises(WeComRateLimited) as raised:
        client.call(FOLLOW, method="GET", idempotent=True)
    assert raised.value.retry_after is not None and raised.value.retry_after > 3000
    assert wecom.calls(FOLLOW) == []
