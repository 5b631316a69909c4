"""The version store shared by every machine: a bare git repository at a URL, mirrored locally.

Each workspace keeps a mirror (`git clone --mirror`, so every ref the store uses travels:
`main`, version tags, `refs/aliases/*`, `refs/notes/evidence`, `refs/sopflow/audit-head`).
Reads are answered from the mirror, fetched once when the store is opened (a long-lived reader
calls `refresh(max_age)` before reading: `sop web` per request). Writes go through
one writer: `lock()` fetches again (`refetch_after` lets a write trust a fetch that recent; 0 by
default), the unit of work writes locally as with a local store, and `publish()` pushes every
ref that changed since that fetch in one `git push --atomic`. Each ref is pushed with a lease
on the value fetched (`--force-with-lease=<ref>:<fetched>`): a compare-and-swap, never a blind
force, so an alias moved back by a rollback or the audit anchor blob can move while anyone
else's write in between makes the whole push fail. Then the mirror is reset to the remote's
refs and the unit of work rolls back (StoreConflictError): nothing is half-written, and
running again works. A database failure after the push pushes the refs back (leased too).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse

import git

from sop_models.errors import StoreConflictError, StoreError, one_line
from versions.git_store import ANCHOR_REF, GitVersionStore

_MIRROR_REFS = "+refs/*:refs/*"


def local_path(url: str) -> Path | None:
    """The folder a `file://` URL or a plain path names (as written, perhaps relative); None for
    a network URL (ssh://...)."""
    if url.startswith("file://"):
        return Path(urlparse(url).path)
    if "://" in url or (":" in url.split("/", 1)[0] and not Path(url).exists()):
        return None  # ssh://host/x or scp-like host:path
    return Path(url)


def create_remote(url: str) -> None:
    """Create an empty shared store at `url` if it is a local folder and missing (idempotent)."""
    path = local_path(url)
    if path is None or (path / "HEAD").exists():
        return
    if path.exists() and any(path.iterdir()):
        raise StoreError(f"store_url: {url} is a folder but not a git repository")
    path.mkdir(parents=True, exist_ok=True)
    git.Repo.init(path, bare=True, initial_branch="main").close()


def _git_problem(err: git.GitCommandError) -> str:
    text = err.stderr if isinstance(err.stderr, str) else str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines
    return one_line(useful[0].removeprefix("stderr: ").strip("'")) if useful else "git failed"


def _sop_ids(changes: Mapping[str, object]) -> list[str]:
    """The SOPs whose tags or aliases a push was moving."""
    found = {
        ref.split("/")[2]
        for ref in changes
        if ref.startswith(("refs/tags/", "refs/aliases/")) and ref.count("/") >= 3
    }
    return sorted(found)


class RemoteGitVersionStore(GitVersionStore):
    """A `VersionStore` whose truth is the bare repository at `url`; `path` is the mirror."""

    def __init__(self, path: Path, url: str, *, refetch_after: float = 0.0) -> None:
        self.url = url
        self.refetch_after = refetch_after
        path = Path(path)
        if not (path / "HEAD").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                repo = git.Repo.clone_from(url, path, mirror=True)
            except git.GitCommandError as err:
                raise StoreError(f"store_url: cannot clone {url}: {_git_problem(err)}") from None
            # Pushes name their refs (a mirror push would send every local ref, deletions too).
            repo.git.config("--unset", "remote.origin.mirror")
            repo.close()
        super().__init__(path)
        origin = self.repo.git.config("--get", "remote.origin.url", with_exceptions=False)
        if origin.strip() != url:
            self.close()
            raise StoreError(
                f"{path} mirrors {origin.strip() or 'no remote'}, not store_url {url}"
                " (move the folder away to clone a fresh mirror)"
            )
        self._base: dict[str, str] = {}
        self._pushed: dict[str, tuple[str | None, str | None]] = {}
        self._reset_pending = False
        self._synced_at = float("-inf")
        with super().lock():
            self.sync()

    # -- mirror ----------------------------------------------------------------------------
    def sync(self) -> None:
        """Make the mirror's refs the remote's (caller holds the lock).

        `git ls-remote` first: when nothing changed (most opens) that is all; a fetch would
        also check every ref's connectivity (~10x the time at 1,000 versions).
        """
        try:
            advertised = self.repo.git.ls_remote("origin")
            remote = {
                name: oid
                for oid, name in (line.split("\t", 1) for line in advertised.splitlines() if line)
                if name.startswith("refs/") and not name.endswith("^{}")
            }
            if remote != self._all_refs():
                self.repo.git.fetch("--prune", "--quiet", "origin", _MIRROR_REFS)
        except git.GitCommandError as err:
            raise StoreError(f"store_url: cannot fetch {self.url}: {_git_problem(err)}") from None
        self._synced_at = time.monotonic()

    def refresh(self, max_age: float = 0.0) -> None:
        """Sync the mirror under the store lock unless it synced within `max_age` seconds
        (a long-lived reader, e.g. `sop web`, calls this per request)."""
        if time.monotonic() - self._synced_at <= max_age:
            return
        with super().lock():
            if time.monotonic() - self._synced_at > max_age:  # another thread just did
                self.sync()

    def _all_refs(self) -> dict[str, str]:
        out = self.repo.git.for_each_ref(format="%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The local lock, a fresh mirror, and after a refused push the mirror reset again."""
        with super().lock():
            if time.monotonic() - self._synced_at > self.refetch_after:
                self.sync()
            self._base = self._all_refs()
            self._pushed, self._reset_pending = {}, False
            try:
                yield
            finally:
                if self._reset_pending:
                    self._reset_pending = False
                    self.sync()

    # -- writing -------------------------------------------------------------------------
    def publish(self) -> None:
        """Push every ref changed since the lock's fetch, all or none (leased on that fetch)."""
        now = self._all_refs()
        changes = {
            ref: (self._base.get(ref), now.get(ref))
            for ref in sorted(set(self._base) | set(now))
            if self._base.get(ref) != now.get(ref)
        }
        if changes:
            self._push(changes)
            self._pushed = changes

    def restore_refs(self, snapshot: Mapping[str, str | None]) -> None:
        """Put refs back locally; refs already pushed by this unit of work are pushed back."""
        super().restore_refs(snapshot)
        if self._pushed:
            undo = {ref: (new, old) for ref, (old, new) in self._pushed.items()}
            self._pushed = {}
            self._reset_pending = True
            with suppress(StoreError):  # someone wrote on top meanwhile: audit verify shows it
                self._push(undo)

    def set_audit_anchor(self, seq: int, hash_: str) -> None:
        """Move the anchor forward locally and on the remote (retried if another writer won)."""
        for _ in range(10):
            try:
                self.repo.git.fetch(
                    "--prune", "--quiet", "origin", "+refs/sopflow/*:refs/sopflow/*"
                )
            except git.GitCommandError as err:
                raise StoreError(
                    f"store_url: cannot fetch {self.url}: {_git_problem(err)}"
                ) from None
            remote = self.snapshot_refs([ANCHOR_REF])[ANCHOR_REF]
            super().set_audit_anchor(seq, hash_)
            mine = self.snapshot_refs([ANCHOR_REF])[ANCHOR_REF]
            if mine == remote:
                return  # the remote already holds this head or a later one
            try:
                self._push({ANCHOR_REF: (remote, mine)})
                return
            except StoreConflictError:
                continue

    def _push(self, changes: Mapping[str, tuple[str | None, str | None]]) -> None:
        args = ["--atomic", "--porcelain", "origin"]
        for ref, (old, _new) in changes.items():
            args.append(f"--force-with-lease={ref}:{old or ''}")
        args += [f"{ref}:{ref}" if new else f":{ref}" for ref, (_old, new) in changes.items()]
        try:
            self.repo.git.push(*args)
        except git.GitCommandError as err:
            self._reset_pending = True
            out = f"{err.stdout}\n{err.stderr}"
            if "rejected" in out or "stale info" in out:
                raise StoreConflictError(_sop_ids(changes)) from None
            raise StoreError(f"store_url: cannot push to {self.url}: {_git_problem(err)}") from None
