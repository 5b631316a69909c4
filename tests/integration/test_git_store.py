"""The git version store on a real repository: commits, tags, aliases, notes, refs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import git
import pytest

from sop_models.errors import VersionNotFound
from versions.git_store import GitVersionStore
from versions.numbering import Version, next_version

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    with GitVersionStore.init(tmp_path / "store.git") as s:
        yield s


def test_each_version_is_one_commit_and_an_annotated_tag_by_the_operator(store) -> None:
    info = store.write_version(
        sop_id="welcome-flow",
        version=Version(1, 0),
        content="a: 欢迎\n",
        author="小王",
        message="v1.0: 首版",
        at=NOW,
    )
    repo = git.Repo(store.path)
    try:
        tag = repo.tags["welcome-flow/v1.0"]
        assert tag.tag is not None, "tag must be annotated"
        assert tag.tag.message.strip() == "v1.0: 首版"
        assert tag.tag.tagger.name == "小王"
        assert tag.commit.hexsha == info.commit
        assert tag.commit.author.name == "小王"
        assert tag.commit.message.strip() == "v1.0: 首版"
    finally:
        repo.close()
    assert store.content(info) == "a: 欢迎\n"


def test_versions_sort_numerically_and_resolve_by_number_alias_and_latest(store) -> None:
    for minor in range(12):
        store.write_version(
            sop_id="s",
            version=Version(1, minor),
            content=f"n: {minor}\n",
            author="a",
            message=f"v1.{minor}",
            at=NOW,
        )
    assert [str(i.version) for i in store.versions("s")][-3:] == ["1.9", "1.10", "1.11"]
    assert store.resolve("s", "latest").version == Version(1, 11)
    assert store.resolve("s", "v1.2").version == Version(1, 2)
    store.set_alias("s", "production", store.resolve("s", "1.3"))
    assert store.resolve("s", "production").version == Version(1, 3)
    with pytest.raises(VersionNotFound, match=r"no 'candidate' alias"):
        store.resolve("s", "candidate")
    with pytest.raises(VersionNotFound, match=r"has no version 7\.0"):
        store.resolve("s", "7.0")


def test_restore_refs_undoes_a_write(store) -> None:
    store.write_version(
        sop_id="s", version=Version(1, 0), content="a: 1\n", author="a", message="v1.0", at=NOW
    )
    names = ["refs/heads/main", "refs/tags/s/v1.1"]
    snapshot = store.snapshot_refs(names)
    store.write_version(
        sop_id="s", version=Version(1, 1), content="a: 2\n", author="a", message="v1.1", at=NOW
    )
    store.restore_refs(snapshot)
    assert [str(i.version) for i in store.versions("s")] == ["1.0"]
    assert store.snapshot_refs(names) == snapshot


def test_evidence_notes_append_without_touching_the_tag(store) -> None:
    info = store.write_version(
        sop_id="s", version=Version(1, 0), content="a: 1\n", author="a", message="v1.0", at=NOW
    )
    before = store.refs()
    store.add_evidence(info, '{"open_rate":0.236}')
    store.add_evidence(info, '{"summary":"打开率 +18%"}')
    assert store.evidence(info) == ['{"open_rate":0.236}', '{"summary":"打开率 +18%"}']
    assert store.refs() == before


def test_next_version_bumps_minor_by_default_and_major_when_asked() -> None:
    assert next_version(None, major=False) == Version(1, 0)
    assert next_version(Version(1, 3), major=False) == Version(1, 4)
    assert next_version(Version(1, 3), major=True) == Version(2, 0)
