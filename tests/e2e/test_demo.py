"""The README's first command, `sop demo`, end to end in a fresh process (ephemeral Prefect)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SOP = Path(sys.executable).with_name("sop")
README = Path(__file__).resolve().parents[2] / "README.md"


def _demo(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return subprocess.run(
        [str(SOP), "demo", "--dir", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _sop(root: Path, *args: str) -> str:
    result = subprocess.run(
        [str(SOP), "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_demo_ends_in_promote_with_a_changelog_line(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = _demo(root)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "Check: PROMOTE" in out
    assert "v2.0：新欢迎语 — 欢迎语打开率 +" in out  # the welcome's own opens
    # The README quotes the line the default demo (seed 7) ends with: keep it true.
    quoted = re.search(r"`(v2\.0：新欢迎语 — [^`]+)`", README.read_text(encoding="utf-8"))
    assert quoted is not None and quoted.group(1) in out
    assert "演示模式以 李经理 的身份自动批准" in out
    assert "\\u" not in out
    log = json.loads(_sop(root, "log", "mombaby-refined", "--json"))
    assert log[0]["version"] == "2.0" and log[0]["aliases"] == ["production"]
    assert log[0]["message"].startswith("v2.0：新欢迎语 — 欢迎语打开率 +")
    actions = [r["action"] for r in json.loads(_sop(root, "audit", "--json"))]
    assert actions[-3:] == ["approval", "evidence", "promote"]
    assert "intact" in _sop(root, "audit", "verify")
    report = root / "reports" / "mombaby-refined.html"
    assert report.exists() and "推广" in report.read_text(encoding="utf-8")
    assert any((root / "outbox").glob("outbox-2026-09-*.jsonl"))
    assert f"users add 李经理 --role lead && sop --workspace {root.resolve()} web" in out


def test_demo_with_a_worse_v2_ends_in_reject_and_keeps_the_evidence(tmp_path: Path) -> None:
    root = tmp_path / "worse"
    # The demo's own design: 8 + 8 groups over 10 days cannot tell a worse welcome from noise
    # on every seed (seed 7 said CONTINUE once the pre-period grew to two weeks).
    result = _demo(root, "--worse")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Check: REJECT" in result.stdout
    assert "候选版本 v2.0 已否决，生产版本仍为 v1.0" in result.stdout
    log = json.loads(_sop(root, "log", "mombaby-refined", "--json"))
    assert {v["version"]: v["aliases"] for v in log} == {"2.0": [], "1.0": ["production"]}
    shown = json.loads(_sop(root, "show", "mombaby-refined@2.0", "--json"))
    assert shown["evidence"][-1]["decision"] == "REJECT"
