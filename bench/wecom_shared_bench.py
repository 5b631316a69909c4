"""The cost of sharing the WeCom token and 45009 blocks through the database, per API call.

One client calls `get_follow_user_list` on the local fake WeCom server N times, with the
token cached in the process (TokenCache) and with it shared through a SQLite database
(DatabaseTokenCache + DatabaseBlockBoard: two small reads per call). The calls take turns,
round by round, so a slow moment of the machine falls on both alike.
Run alone: `python -m bench.wecom_shared_bench [--quick]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.table import Row, render
from engine.migrations import MIGRATIONS
from engine.wecom.client import WeComClient
from engine.wecom.shared_state import DatabaseBlockBoard, DatabaseTokenCache
from services.db import make_engine, migrate
from tests.support.wecom_fake import FakeWeCom

FOLLOW = "externalcontact/get_follow_user_list"


def run(quick: bool = False) -> list[Row]:
    rounds, calls = (5, 50) if quick else (15, 200)
    with tempfile.TemporaryDirectory() as folder, FakeWeCom() as wecom:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine, MIGRATIONS)
        local = WeComClient(corpid=wecom.corpid, corpsecret=wecom.corpsecret,
                            base_url=wecom.base_url)  # fmt: skip
        shared = WeComClient(
            corpid=wecom.corpid,
            corpsecret=wecom.corpsecret,
            base_url=wecom.base_url,
            clock=time.time,
            token_cache=DatabaseTokenCache(engine, secret=wecom.corpsecret),
            blocks=DatabaseBlockBoard(engine),
        )
        samples: dict[str, list[float]] = {"local": [], "shared": []}
        for client in (local, shared):  # warm-up: fetch the token, open connections
            client.call(FOLLOW, method="GET", idempotent=True)
        for _ in range(rounds):
            for name, client in (("local", local), ("shared", shared)):
                start = time.perf_counter()
                for _ in range(calls):
                    client.call(FOLLOW, method="GET", idempotent=True)
                samples[name].append((time.perf_counter() - start) * 1000 / calls)
        local.close()
        shared.close()
        engine.dispose()
    return [
        Row(
            "WeCom API call, token + blocks shared via SQLite",
            statistics.median(samples["shared"]),
            "ms/call",
            "token in process",
            statistics.median(samples["local"]),
            note=f"fake WeCom on localhost, {rounds} rounds x {calls} calls",
        )
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(render(run(quick=parser.parse_args().quick)))
