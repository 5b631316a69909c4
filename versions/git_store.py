"""The version store in a bare git repository, driven through GitPython.

Layout: branch `main` holds one file per SOP (`<sop-id>.yaml`); each saved version is one
commit on it plus an annotated tag `<sop-id>/v<major>.<minor>` whose message is the changelog
line and whose tagger is the operator. Aliases are refs `refs/aliases/<sop-id>/<alias>`
pointing at a version's commit. Evidence is appended as git notes (`refs/notes/evidence`).
Objects are written in-process (GitPython's object database) so a save costs a handful of
milliseconds, not a dozen subprocesses.

Every SOP id and alias is checked against the id rule (`sop_models.ids`) before a ref name or
a ref pattern is built from it: git reads `refs/tags/*/` as a glob, so an unchecked `*` would
answer with another SOP's versions. Reads refuse with VersionNotFound, writes with StoreError.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import git
from git.objects.fun import tree_to_stream
from gitdb import IStream

from sop_models.errors import StoreError
from sop_models.ids import id_problem
from versions.numbering import Version
from versions.store import BRANCH, EVIDENCE_REF, Alias, VersionInfo, checked_id, resolve_ref

ZERO = "0" * 40
_FIELD = "\x1f"
_RECORD = "\x1e"
_TAG_FORMAT = (
    "%(refname)%1f%(objecttype)%1f%(*objectname)%1f%(taggername)%1f%(taggerdate:iso-strict)"
    "%1f%(contents)%1e"
)
ANCHOR_REF = "refs/sopflow/audit-head"  # a blob "<seq> <hash>": the audit chain's last head


def _ident_env(name: str, at: datetime) -> dict[str, str]:
    stamp = f"{int(at.timestamp())} +0000"
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": "operator@sopflow.local",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": "operator@sopflow.local",
        "GIT_COMMITTER_DATE": stamp,
    }


class GitVersionStore:
    """A `VersionStore` backed by a bare git repository at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not (self.path / "HEAD").exists():
            raise StoreError(f"no version store at {self.path} (run `sop init` first)")
        self.repo = git.Repo(self.path)

    @classmethod
    def init(cls, path: Path) -> GitVersionStore:
        """Create an empty store (idempotent)."""
        path = Path(path)
        if not (path / "HEAD").exists():
            path.mkdir(parents=True, exist_ok=True)
            git.Repo.init(path, bare=True, initial_branch="main").close()
        return cls(path)

    def close(self) -> None:
        """Release GitPython's cached processes and file handles."""
        self.repo.close()

    def refresh(self, max_age: float = 0.0) -> None:
        """Make reads current (a shared store's mirror: versions.remote_store); a local store
        always is."""

    def __enter__(self) -> GitVersionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- locking ---------------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock across processes (flock on a file inside the repository)."""
        with (self.path / "sopflow.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- names -----------------------------------------------------------------------------
    def tag_ref(self, sop_id: str, version: Version) -> str:
        """Full ref name of a version tag."""
        return f"refs/tags/{checked_id(sop_id)}/{version.label}"

    def alias_ref(self, sop_id: str, alias: str) -> str:
        """Full ref name of an alias."""
        return f"refs/aliases/{checked_id(sop_id)}/{checked_id(alias, 'alias')}"

    # -- reading ---------------------------------------------------------------------------
    def sop_ids(self) -> list[str]:
        """Every SOP with at least one saved version."""
        out = self.repo.git.for_each_ref("refs/tags/", format="%(refname)")
        ids = {line.split("/")[2] for line in out.splitlines() if line.count("/") >= 3}
        return sorted(i for i in ids if id_problem(i) is None)

    def versions(self, sop_id: str) -> list[VersionInfo]:
        """All versions of one SOP, oldest first."""
        out = self.repo.git.for_each_ref(f"refs/tags/{checked_id(sop_id)}/", format=_TAG_FORMAT)
        infos = [self._parse_tag_record(rec) for rec in out.split(_RECORD) if rec.strip()]
        return sorted(infos, key=lambda info: info.version)

    def latest(self, sop_id: str) -> VersionInfo | None:
        """The highest-numbered version (git sorts tag names by version), or None."""
        # Sorting by name reads no tag objects; only the winner is then read in full.
        name = self.repo.git.for_each_ref(
            f"refs/tags/{checked_id(sop_id)}/",
            "--sort=-v:refname",
            "--count=1",
            format="%(refname)",
        ).strip()
        if not name:
            return None
        return self.version_info(sop_id, Version.parse(name.rsplit("/", 1)[1]))

    def version_info(self, sop_id: str, version: Version) -> VersionInfo | None:
        """One version by number without listing the others."""
        out = self.repo.git.for_each_ref(self.tag_ref(sop_id, version), format=_TAG_FORMAT)
        records = [rec for rec in out.split(_RECORD) if rec.strip()]
        return self._parse_tag_record(records[0]) if records else None

    def iter_history(self, sop_id: str) -> Iterator[VersionInfo]:
        """Versions newest first."""
        yield from reversed(self.versions(sop_id))

    def _parse_tag_record(self, record: str) -> VersionInfo:
        refname, kind, commit, tagger, date, contents = record.lstrip("\n").split(_FIELD, 5)
        sop_id, label = refname.removeprefix("refs/tags/").split("/", 1)
        if kind != "tag":  # a lightweight tag has no tagger or message: not one of ours
            raise StoreError(
                f"{refname.removeprefix('refs/tags/')} is a lightweight tag, not a saved version"
                " (no tagger, no changelog): see `sop audit verify`"
            )
        return VersionInfo(
            sop_id=sop_id,
            version=Version.parse(label),
            commit=commit,
            tag=refname.removeprefix("refs/tags/"),
            author=tagger,
            at=datetime.fromisoformat(date),
            message=contents.strip(),
        )

    def content(self, info: VersionInfo) -> str:
        """The stored document text of a version."""
        blob = self.repo.commit(info.commit).tree / f"{info.sop_id}.yaml"
        return blob.data_stream.read().decode("utf-8")

    def aliases(self, sop_id: str) -> dict[str, Version]:
        """Current alias -> version for one SOP."""
        out = self.repo.git.for_each_ref(
            f"refs/aliases/{checked_id(sop_id)}/", format="%(refname)%1f%(objectname)"
        )
        result: dict[str, Version] = {}
        for line in out.splitlines():
            ref, commit = line.split(_FIELD)
            tags = self.repo.git.tag("--points-at", commit, "--list", f"{sop_id}/v*")
            labels = [Version.parse(t.split("/", 1)[1]) for t in tags.split()]
            if labels:
                result[ref.rsplit("/", 1)[1]] = max(labels)
        return result

    def evidence(self, info: VersionInfo) -> list[str]:
        """Evidence records attached to a version, oldest first."""
        try:
            out = self.repo.git.notes("--ref=evidence", "show", info.commit)
        except git.GitCommandError:
            return []
        return [line for line in out.splitlines() if line.strip()]

    def refs(self) -> dict[str, str]:
        """Every managed ref (tags and aliases) -> the commit it points at."""
        out = self.repo.git.for_each_ref(
            "refs/tags/", "refs/aliases/", format="%(refname)%1f%(objectname)%1f%(*objectname)"
        )
        result: dict[str, str] = {}
        for line in out.splitlines():
            ref, obj, peeled = line.split(_FIELD)
            result[ref] = peeled or obj
        return result

    def raw_refs(self) -> dict[str, tuple[str, str]]:
        """Tags, aliases and the evidence notes ref -> (raw object id, object type)."""
        out = self.repo.git.for_each_ref(
            "refs/tags/",
            "refs/aliases/",
            EVIDENCE_REF,
            format="%(refname)%1f%(objectname)%1f%(objecttype)",
        )
        found: dict[str, tuple[str, str]] = {}
        for line in out.splitlines():
            ref, obj, kind = line.split(_FIELD)
            found[ref] = (obj, kind)
        return found

    def audit_anchor(self) -> tuple[int, str] | None:
        """The audit head last anchored in `refs/sopflow/audit-head`; None if never."""
        blob = self.snapshot_refs([ANCHOR_REF])[ANCHOR_REF]
        if blob is None:
            return None
        seq, hash_ = self.repo.git.cat_file("-p", blob).split()
        return int(seq), hash_

    def set_audit_anchor(self, seq: int, hash_: str) -> None:
        """Move the anchor forward to (seq, hash); a later anchor already there is kept.

        Compare-and-swap on the ref, so two writers never move it backwards.
        """
        data = f"{seq} {hash_}\n".encode()
        blob = self.repo.odb.store(IStream("blob", len(data), BytesIO(data))).hexsha
        blob = blob.decode() if isinstance(blob, bytes) else blob
        for _ in range(20):
            old = self.snapshot_refs([ANCHOR_REF])[ANCHOR_REF]
            if old is not None and int(self.repo.git.cat_file("-p", old).split()[0]) >= seq:
                return
            try:
                self.repo.git.update_ref(ANCHOR_REF, blob, old or ZERO)
                return
            except git.GitCommandError:
                continue  # another writer moved it in between: look again

    # -- writing (caller holds the lock) ---------------------------------------------------
    def _head(self) -> str | None:
        try:
            return self.repo.git.rev_parse("--verify", "-q", BRANCH)
        except git.GitCommandError:
            return None

    def write_version(
        self,
        *,
        sop_id: str,
        version: Version,
        content: str,
        author: str,
        message: str,
        at: datetime,
    ) -> VersionInfo:
        """Record a new version: one commit on main plus an annotated tag."""
        checked_id(sop_id, error=StoreError)
        odb = self.repo.odb
        data = content.encode("utf-8")
        blob = odb.store(IStream("blob", len(data), BytesIO(data))).binsha
        parent = self._head()
        entries: dict[str, tuple[bytes, int, str]] = {}
        if parent:
            for item in self.repo.commit(parent).tree.blobs:
                entries[item.name] = (item.binsha, item.mode, item.name)
        name = f"{sop_id}.yaml"
        entries[name] = (blob, 0o100644, name)
        stream = BytesIO()
        tree_to_stream([entries[key] for key in sorted(entries)], stream.write)
        tree_bytes = stream.getvalue()
        tree_sha = odb.store(IStream("tree", len(tree_bytes), BytesIO(tree_bytes))).hexsha
        env = _ident_env(author, at)
        args = [tree_sha.decode() if isinstance(tree_sha, bytes) else tree_sha, "-m", message]
        if parent:
            args[1:1] = ["-p", parent]
        commit = self.repo.git.commit_tree(*args, env=env)
        self.repo.git.update_ref(BRANCH, commit, parent or ZERO)
        tag = f"{sop_id}/{version.label}"
        self.repo.git.tag("-a", tag, commit, "-m", message, env=env)
        return VersionInfo(sop_id, version, commit, tag, author, at.astimezone(UTC), message)

    def retag(self, info: VersionInfo, *, message: str, author: str, at: datetime) -> VersionInfo:
        """Rewrite a version tag's message; it keeps pointing at the same commit."""
        self.repo.git.tag(
            "-a", "-f", info.tag, info.commit, "-m", message, env=_ident_env(author, at)
        )
        return VersionInfo(
            info.sop_id, info.version, info.commit, info.tag, info.author, info.at, message
        )

    def set_alias(self, sop_id: str, alias: Alias, info: VersionInfo | None) -> None:
        """Point an alias at a version's commit, or delete it."""
        checked_id(sop_id, error=StoreError)
        checked_id(alias, "alias", error=StoreError)
        ref = self.alias_ref(sop_id, alias)
        if info is None:
            if self.snapshot_refs([ref])[ref] is not None:
                self.repo.git.update_ref("-d", ref)
            return
        self.repo.git.update_ref(ref, info.commit)

    def add_evidence(self, info: VersionInfo, evidence_json: str) -> None:
        """Append one evidence line to the version's note."""
        env = _ident_env("sopflow", datetime.now(UTC))
        self.repo.git.notes("--ref=evidence", "append", "-m", evidence_json, info.commit, env=env)

    def snapshot_refs(self, names: list[str]) -> Mapping[str, str | None]:
        """Raw object ids of the given refs (None where a ref does not exist)."""
        found: dict[str, str | None] = dict.fromkeys(names)
        if names:
            out = self.repo.git.for_each_ref(*names, format="%(refname)%1f%(objectname)")
            for line in out.splitlines():
                ref, obj = line.split(_FIELD)
                if ref in found:
                    found[ref] = obj
        return found

    def restore_refs(self, snapshot: Mapping[str, str | None]) -> None:
        """Put refs back where a snapshot found them."""
        current = self.snapshot_refs(list(snapshot))
        for ref, target in snapshot.items():
            if current[ref] == target:
                continue
            if target is None:
                self.repo.git.update_ref("-d", ref)
            else:
                self.repo.git.update_ref(ref, target)

    def publish(self) -> None:
        """Nothing to do: this store is the only copy (see versions.remote_store)."""

    def resolve(self, sop_id: str, ref: str) -> VersionInfo:
        """A version by number, alias or `latest` (see `versions.store.resolve_ref`)."""
        return resolve_ref(self, sop_id, ref, self.version_info)
