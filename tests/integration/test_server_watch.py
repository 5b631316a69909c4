"""`sop server` watches its Prefect server: a slow answer is not a dead server, a dead one is
reported. Against a local HTTP server playing the server's /api/health."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows.runtime import PrefectServer


@pytest.fixture
def health() -> Iterator[tuple[list[int], int]]:
    """A /api/health that answers the queued status codes in turn (200 once they run out),
    the answers given recorded in the same list's place; yields (queue, port)."""
    queue: list[int] = []

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(queue.pop(0) if queue else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield queue, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_is_given_up_only_after_several_failed_checks_in_a_row(
    health: tuple[list[int], int], tmp_path: Path
) -> None:
    queue, port = health
    queue += [503, 503, 200, 503, 503, 503]  # two misses, a recovery, then three in a row
    watched = PrefectServer(tmp_path, port=port)

    why = watched.watch(every_s=0.01, failures=3)

    assert why == "/health answered 503 (3 failed check(s) in a row)"
    assert queue == []  # the first two misses were waited out


def test_a_server_that_stops_answering_is_named_with_the_failure(tmp_path: Path) -> None:
    watched = PrefectServer(tmp_path)  # a free port: nothing listens there

    assert (
        watched.watch(every_s=0.01, failures=2)
        == "/health: ConnectError (2 failed check(s) in a row)"
    )
