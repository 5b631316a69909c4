"""Shared version store (`store_url`): what a machine's mirror costs at 1,000 versions.

Opening a workspace fetches its mirror once; a save fetches, writes, and pushes atomically.
Baselines are the plain git commands doing the same transport, and a save on a local store.
"""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.store_bench import _doc
from bench.table import Row, median_ms
from versions.git_store import GitVersionStore
from versions.numbering import Version
from versions.remote_store import RemoteGitVersionStore, create_remote

VERSIONS = 1000


def _fill(store: GitVersionStore, versions: int, now: datetime) -> None:
    for n in range(versions):
        store.write_version(
            sop_id="bench", version=Version(1, n), content=_doc(n), author="b", message="m", at=now
        )


def _saver(store: GitVersionStore, start: int, now: datetime, publish: bool):  # type: ignore[no-untyped-def]
    counter = iter(range(start, start + 10_000))

    def save() -> None:
        n = next(counter)
        with store.lock():
            store.content(store.latest("bench"))  # type: ignore[arg-type]
            store.write_version(
                sop_id="bench",
                version=Version(1, n),
                content=_doc(n),
                author="b",
                message="m",
                at=now,
            )
            if publish:
                store.publish()

    return save


def run(versions: int = VERSIONS, quick: bool = False) -> list[Row]:
    """Fill a shared store, then time clone, open (fetch) and save through a mirror."""
    versions = 100 if quick else versions
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = str(root / "shared.git")
        create_remote(url)
        with GitVersionStore(Path(url)) as seed:
            _fill(seed, versions, now)
        clones = iter(range(1000))
        clone_ms = median_ms(
            lambda: RemoteGitVersionStore(root / f"m{next(clones)}", url).close(), 5
        )
        plain_clone_ms = median_ms(
            lambda: _git(root, "clone", "-q", "--mirror", url, str(root / f"p{next(clones)}")), 5
        )
        mirror = RemoteGitVersionStore(root / "mirror", url)
        open_ms = median_ms(lambda: RemoteGitVersionStore(root / "mirror", url).close(), 20)
        plain_fetch_ms = median_ms(
            lambda: _git(root / "mirror", "fetch", "-q", "--prune", "origin", "+refs/*:refs/*"), 20
        )
        shared_save_ms = median_ms(_saver(mirror, versions, now, publish=True), 20)
        mirror.close()
        local = GitVersionStore.init(root / "local.git")
        _fill(local, versions, now)
        local_save_ms = median_ms(_saver(local, versions, now, publish=False), 20)
        local.close()
    label = f"at {versions} versions"
    return [
        Row(f"shared store: first open clones the mirror {label} (median)", clone_ms, "ms",
            "git clone --mirror", plain_clone_ms, "none set"),
        Row(f"shared store: workspace open, nothing new (ls-remote, no fetch) {label} (median)",
            open_ms, "ms", "git fetch --prune origin +refs/*:refs/*", plain_fetch_ms, "none set",
            "file:// on local disk; fetches only when a ref differs; ssh adds round trips"),
        Row(f"shared store: save = fetch + write + atomic leased push {label} (median)",
            shared_save_ms, "ms", "save on a local store", local_save_ms, "none set",
            "the push's pack-objects walks every remote ref as a negative: ~0.3 s at 1,000 tags"),
    ]  # fmt: skip


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
