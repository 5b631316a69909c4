"""The ephemeral Prefect server dies with the command that started it, even on SIGKILL.

Prefect starts its ephemeral API server as a child process (uvicorn, ~200 MB) and stops it
at exit, but a command killed with SIGKILL never gets there and the server lives on. So the
server gets a watchdog: a tiny process, started before the server, holding the read end of a
pipe whose only write end stays in the command. The command writes the server's pid into the
pipe as soon as the server process exists; when the command ends, however it ends, the kernel
closes the write end, and the watchdog reads EOF and stops the server (SIGTERM, then SIGKILL
after a grace time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

GRACE_S = 5.0
_WATCHDOG = """
import os, signal, sys, time
fd, grace = int(sys.argv[1]), float(sys.argv[2])
data = b""
try:
    while chunk := os.read(fd, 64):
        data += chunk
except OSError:
    pass
pids = [int(p) for p in data.split() if p.isdigit()]
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
for pid in pids:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
deadline = time.monotonic() + grace
while any(alive(p) for p in pids) and time.monotonic() < deadline:
    time.sleep(0.05)
for pid in pids:
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
"""
_write_ends: list[int] = []  # open for as long as this process lives (or until released)


def _watchdog(grace_s: float) -> int:
    """Start a watchdog; returns the write end of its pipe (pids to stop, one a line)."""
    read_end, write_end = os.pipe()
    os.set_inheritable(read_end, True)
    subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(read_end), str(grace_s)],
        pass_fds=(read_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal to our process group must not reach it first
    )
    os.close(read_end)
    return write_end


def start_guarded_ephemeral_server(*, grace_s: float = GRACE_S) -> int | None:
    """Start Prefect's ephemeral server now (the one every client of this process then uses),
    watched from the moment its process exists; returns its pid."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    if server.server_process is not None:
        return server.server_process.pid  # already running, already watched
    write_end = _watchdog(grace_s)
    _write_ends.append(write_end)
    done = threading.Event()

    def report_pid() -> None:  # the server's pid, as soon as Popen returns inside start()
        reported: set[int] = set()
        while not done.is_set() or server.server_process is not None:
            process = server.server_process
            if process is not None and process.pid not in reported:
                os.write(write_end, f"{process.pid}\n".encode())
                reported.add(process.pid)
            if done.is_set():
                return
            time.sleep(0.005)

    reporter = threading.Thread(target=report_pid, name="prefect-server-watch", daemon=True)
    reporter.start()
    try:
        server.start()
    finally:
        done.set()
        reporter.join(timeout=5)
    return server.server_process.pid if server.server_process else None


def release() -> None:
    """The servers were stopped normally: let their watchdogs go (nothing left to stop)."""
    while _write_ends:
        os.close(_write_ends.pop())
