"""Ephemeral mode (no server) in a fresh process: flow runs there send no heartbeats.

Nothing outlives an ephemeral run to watch its heartbeats, and Prefect's sync engine waits up to
a second at the end of every run for its heartbeat thread (the demo runs one flow per day).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

_CODE = """
import sys
from pathlib import Path

from prefect import flow
from prefect.settings import get_current_settings

from flows.runtime import use_ephemeral

@flow
def one() -> int:
    return get_current_settings().flows.heartbeat_frequency or 0

with use_ephemeral(Path(sys.argv[1])):
    print("inside", get_current_settings().flows.heartbeat_frequency, one())
print("after", get_current_settings().flows.heartbeat_frequency)
"""


def test_flow_runs_in_ephemeral_mode_send_no_heartbeats_and_the_setting_is_restored(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", _CODE, str(tmp_path / "prefect")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    inside, after = done.stdout.splitlines()[-2:]
    assert inside == "inside None 0"
    assert after.startswith("after ") and after != "after None"  # Prefect's default again


_KEEP = """
import sys
from pathlib import Path

from flows.approval import paused_runs
from flows.runtime import kept_server_url, use_ephemeral

first, second = Path(sys.argv[1]), Path(sys.argv[2])
with use_ephemeral(first, keep_server=True):
    pass
url = kept_server_url(first)
print("kept", url is not None, paused_runs(api_url=url) == [] if url else None)
with use_ephemeral(second):
    pass
print("replaced", kept_server_url(first) is None, kept_server_url(second) is None)
"""


def test_a_kept_ephemeral_server_answers_after_its_block_until_another_home_needs_one(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", _KEEP, str(tmp_path / "a"), str(tmp_path / "b")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    kept, replaced = [line for line in done.stdout.splitlines() if line.startswith(("kept", "re"))]
    assert kept == "kept True True"
    assert replaced == "replaced True True"
