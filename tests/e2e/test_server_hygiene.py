"""A `sop` command killed with SIGKILL leaves no ephemeral Prefect server behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.waiting import wait_until

SOP = Path(sys.executable).with_name("sop")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds no memory; init reaps it when it can)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_killing_the_cli_with_sigkill_stops_its_ephemeral_prefect_server(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    cli = subprocess.Popen(  # the demo runs for a while in ephemeral mode
        [str(SOP), "demo", "--dir", str(tmp_path / "demo")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def server() -> int | None:
            found = [p for p in children(cli.pid) if "prefect.server.api.server" in cmdline(p)]
            return found[0] if found else None

        pid = wait_until(server, timeout=180, interval=0.2, what="the ephemeral Prefect server")
        assert running(pid)
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=30)
        wait_until(lambda: not running(pid), timeout=30, what="the server to stop")
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(timeout=30)
