"""Version store at 1,000+ versions: save and show medians vs plain git commands."""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.table import Row, median_ms
from versions.git_store import GitVersionStore
from versions.numbering import Version

VERSIONS = 1000


def _doc(n: int) -> str:
    return f"id: bench\ntitle: 基准 SOP 第 {n} 版\nbody: |\n" + "  欢迎加入！\n" * 40


def run(versions: int = VERSIONS) -> list[Row]:
    """Fill a store with `versions` versions, then time save and show at that size."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = GitVersionStore.init(Path(tmp) / "store.git")
        for n in range(versions):
            store.write_version(
                sop_id="bench",
                version=Version(1, n),
                content=_doc(n),
                author="bench",
                message=f"v1.{n}",
                at=now,
            )
        counter = iter(range(versions, versions + 10_000))

        def save() -> None:
            n = next(counter)
            with store.lock():
                latest = store.latest("bench")
                store.content(latest)  # the unchanged-document check
                store.write_version(
                    sop_id="bench",
                    version=Version(1, n),
                    content=_doc(n),
                    author="bench",
                    message=f"v1.{n}",
                    at=now,
                )

        def show() -> None:
            store.content(store.resolve("bench", "1.500"))

        save_ms = median_ms(save, 30)
        show_ms = median_ms(show, 30)
        store.close()
        baseline_ms = _plain_git_commit_ms(Path(tmp) / "plain")
        show_baseline = _plain_git_show_ms(Path(tmp) / "plain")
    return [
        Row(
            f"store save at {versions} versions (median)",
            save_ms,
            "ms",
            "git add+commit+tag -a",
            baseline_ms,
            "< 100 ms",
        ),
        Row(
            f"store show by number at {versions} versions (median)",
            show_ms,
            "ms",
            "git show TAG:file",
            show_baseline,
            "< 100 ms",
        ),
    ]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _plain_git_commit_ms(path: Path) -> float:
    path.mkdir()
    _git(path, "init", "-q")
    _git(path, "config", "user.name", "bench")
    _git(path, "config", "user.email", "bench@example.com")
    counter = iter(range(10_000))

    def commit() -> None:
        n = next(counter)
        (path / "bench.yaml").write_text(_doc(n), encoding="utf-8")
        _git(path, "add", "bench.yaml")
        _git(path, "commit", "-q", "-m", f"v1.{n}")
        _git(path, "tag", "-a", f"bench/v1.{n}", "-m", f"v1.{n}")

    return median_ms(commit, 30)


def _plain_git_show_ms(path: Path) -> float:
    return median_ms(lambda: _git(path, "show", "bench/v1.5:bench.yaml"), 30)
