"""Hostile ids never reach git or the database: glob, colon, slash and control characters.

Issue 13 found `sop show '*@1.0'` answering with another SOP's version (git reads the ref
pattern `refs/tags/*/` as a glob), `sop evidence '*@1.0'` attaching evidence to another SOP and
other commands ending in a GitCommandError traceback. Ids now follow one rule
(`sop_models.ids`), checked before any ref name is built and where groups and members enter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from engine.group_csv import import_groups_csv
from engine.groups import BadRowsError, GroupRegistryError, add_group
from engine.members import import_member_joins
from sop_models.errors import StoreError, VersionNotFound
from sopflow.cli import groups_cmd, main
from tests.support.examples import EXAMPLES
from tests.support.memory_versions import InMemoryVersionStore
from tests.support.workspaces import Cli
from versions.git_store import GitVersionStore
from versions.numbering import Version

if "groups_cmd" not in main.COMMAND_MODULES:
    groups_cmd.register(main.app)

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
GLOBS = ["*", "?", "[a-z]*", "mombaby-*", "*/v1.0", "..", "a:b", "a b", "x\nfoo", "a" * 65]


def two_sops(cli: Cli) -> None:
    for name in ("mombaby-refined", "flash-sale-promo"):
        cli("save", str(EXAMPLES / f"{name}.yaml"), "--author", "小王", "-m", "首版")


def assert_user_error(result: object, *fragments: str) -> str:
    output: str = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "GitCommandError" not in output
    lines = output.strip().splitlines()
    assert lines and all(line.startswith("sop: error: ") for line in lines), output
    for fragment in fragments:
        assert fragment in output, output
    return output


@pytest.fixture(params=["git", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "memory":
        yield InMemoryVersionStore()
        return
    with GitVersionStore.init(tmp_path / "store.git") as s:
        yield s


def save(store, sop_id: str) -> None:
    store.write_version(
        sop_id=sop_id,
        version=Version(1, 0),
        content=f"id: {sop_id}\n",
        author="小王",
        message="v1.0: 首版",
        at=NOW,
    )


@pytest.mark.parametrize("bad", GLOBS)
def test_the_stores_refuse_bad_sop_ids_before_git_sees_them(store, bad: str) -> None:
    save(store, "alpha")
    save(store, "beta")
    for call in (
        lambda: store.resolve(bad, "1.0"),
        lambda: store.resolve(bad, "latest"),
        lambda: store.resolve(bad, "production"),
        lambda: store.versions(bad),
        lambda: store.latest(bad),
        lambda: store.aliases(bad),
        lambda: store.tag_ref(bad, Version(1, 0)),
    ):
        with pytest.raises(VersionNotFound) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        assert "not a valid id" in message or "characters long" in message
    with pytest.raises(StoreError):
        save(store, bad)
    info = store.resolve("alpha", "1.0")
    with pytest.raises(StoreError):
        store.set_alias(bad, "production", info)
    with pytest.raises(StoreError):
        store.set_alias("alpha", bad, info)  # type: ignore[arg-type]
    assert store.sop_ids() == ["alpha", "beta"]
    assert store.aliases("alpha") == {}


@pytest.mark.parametrize("alias", ["*", "prod*", "[pc]*", "a:b", "../production"])
def test_a_glob_alias_is_refused_not_expanded(store, alias: str) -> None:
    save(store, "alpha")
    store.set_alias("alpha", "production", store.resolve("alpha", "1.0"))
    with pytest.raises(VersionNotFound, match="alias"):
        store.resolve("alpha", alias)


def test_an_unknown_sop_lists_the_known_ones(store) -> None:
    with pytest.raises(VersionNotFound) as empty:
        store.resolve("baoma", "latest")
    assert (
        str(empty.value)
        == "no SOP 'baoma' in the store (the store is empty: save one with `sop save FILE`)"
    )
    save(store, "beta")
    save(store, "alpha")
    with pytest.raises(VersionNotFound) as info:
        store.resolve("baoma", "1.0")
    assert str(info.value) == "no SOP 'baoma' in the store (known: alpha, beta)"


def test_chinese_sop_ids_are_stored_and_read_back(store) -> None:
    save(store, "宝妈群")
    assert store.resolve("宝妈群", "1.0").tag == "宝妈群/v1.0"
    assert store.sop_ids() == ["宝妈群"]


def test_show_star_never_returns_another_sops_version(cli: Cli) -> None:
    two_sops(cli)
    for spec in ("*@1.0", "*", "mombaby-*@1.0", "?ombaby-refined@1.0", "*@latest"):
        out = assert_user_error(cli("show", spec, ok=False), "not a valid id")
        assert "mombaby-refined/v1.0" not in out and "flash-sale-promo/v1.0" not in out
    assert_user_error(cli("show", "mombaby-refined@*", ok=False), "alias")
    assert_user_error(cli("show", "mombaby-refined@prod*", ok=False), "alias")


def test_evidence_on_a_glob_id_is_refused_and_nothing_is_recorded(cli: Cli, tmp_path: Path) -> None:
    two_sops(cli)
    before = json.loads(cli("audit", "--json").output)
    evidence = tmp_path / "e.json"
    evidence.write_text(json.dumps({"summary": "打开率 +18%"}, ensure_ascii=False), "utf-8")
    assert_user_error(
        cli("evidence", "*@1.0", str(evidence), "--author", "数据组", ok=False), "not a valid id"
    )
    assert json.loads(cli("audit", "--json").output) == before
    assert "intact" in cli("audit", "verify").output


@pytest.mark.parametrize(
    "args",
    [
        ["log", "*"],
        ["log", "a:b"],
        ["diff", "*", "1.0", "1.1"],
        ["promote", "*", "1.0", "--approver", "李经理"],
        ["candidate", "*", "1.0", "--author", "小王"],
        ["reject", "*", "--author", "李经理", "-m", "x"],
        ["rollback", "*", "--author", "李经理", "-m", "x"],
    ],
)
def test_other_commands_refuse_a_glob_id_in_one_line(cli: Cli, args: list[str]) -> None:
    two_sops(cli)
    assert_user_error(cli(*args, ok=False))
    assert "intact" in cli("audit", "verify").output


def test_an_unknown_sop_through_the_cli_names_the_known_ones(cli: Cli) -> None:
    two_sops(cli)
    assert_user_error(
        cli("show", "baoma@1.0", ok=False),
        "no SOP 'baoma' in the store (known: flash-sale-promo, mombaby-refined)",
    )


def test_a_document_with_a_glob_id_is_refused_by_field_path(cli: Cli, tmp_path: Path) -> None:
    text = (EXAMPLES / "mombaby-refined.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("id: mombaby-refined", "id: '*'", 1), encoding="utf-8")
    assert "id: '*'" in bad.read_text(encoding="utf-8")
    out = cli("validate", str(bad), ok=False).output
    assert f"{bad}: id: SOP id '*' is not a valid id" in out
    assert_user_error(cli("save", str(bad), "--author", "小王", "-m", "x", ok=False), "id:")


# -- groups and members ------------------------------------------------------------------
HEADER = "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"


@pytest.mark.parametrize("bad", ["g:on_join.welcome:2026-09-08:x", "g*", "a b", "x" * 65])
def test_add_group_refuses_a_bad_group_id(engine_db: Engine, bad: str) -> None:
    with Session(engine_db) as session, pytest.raises(GroupRegistryError) as info:
        add_group(session, id=bad, name="一群", sop_id="mombaby-refined", now=NOW)
    message = str(info.value)
    assert "\n" not in message and "id: group id" in message


def test_add_group_refuses_a_bad_sop_id(engine_db: Engine) -> None:
    with (
        Session(engine_db) as session,
        pytest.raises(GroupRegistryError, match="sop: SOP id '\\*'"),
    ):
        add_group(session, id="g1", name="一群", sop_id="*", now=NOW)


def test_group_csv_reports_every_bad_id_by_line_and_imports_nothing(
    engine_db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(
        HEADER
        + "g1,一群,,,,,mombaby-refined,,,,\n"
        + "g:2,二群,,,,,mombaby-refined,,,,\n"
        + "g3,三群,,,,,mb/*,,,,\n"
        + '"g 4",四群,,,,,mombaby-refined,,,,\n'
        + "上海群,五群,,,,,mombaby-refined,,,,\n",
        encoding="utf-8",
    )
    with Session(engine_db) as session, pytest.raises(BadRowsError) as info:
        import_groups_csv(session, path, now=NOW)
    lines = str(info.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["line 3", "line 4", "line 5"]
    assert "id: group id 'g:2'" in lines[0]
    assert "sop: SOP id 'mb/*'" in lines[1]
    assert "id: group id 'g 4'" in lines[2]
    with Session(engine_db) as session:
        assert import_groups_csv(session, _only_good(tmp_path), now=NOW) == 2


def _only_good(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text(
        HEADER + "g1,一群,,,,,mombaby-refined,,,,\n上海群,五群,,,,,mombaby-refined,,,,\n",
        encoding="utf-8",
    )
    return path


def test_member_joins_refuse_bad_group_and_member_ids_by_line(
    engine_db: Engine, tmp_path: Path
) -> None:
    with Session(engine_db) as session:
        add_group(session, id="g1", name="一群", sop_id="mombaby-refined", now=NOW)
        session.commit()
    path = tmp_path / "joins.csv"
    path.write_text(
        "group,member,name,joined_at\n"
        "g1,wm001,小红,2026-09-08T10:00:00+08:00\n"
        "g1,wm:2,小蓝,2026-09-08T10:00:00+08:00\n"
        "g*,wm003,小绿,2026-09-08T10:00:00+08:00\n"
        '"g1","wm 4",小白,2026-09-08T10:00:00+08:00\n',
        encoding="utf-8",
    )
    with Session(engine_db) as session, pytest.raises(BadRowsError) as info:
        import_member_joins(session, path)
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert "line 3: member: member id 'wm:2'" in lines[0]
    assert "line 4: group: group id 'g*'" in lines[1]
    assert "line 5: member: member id 'wm 4'" in lines[2]


def test_group_import_through_the_cli_is_lines_not_a_traceback(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(HEADER + "g:1,一群,,,,,mombaby-refined,,,,\n", encoding="utf-8")
    out = cli("groups", "import", str(path), ok=False)
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "line 2: id: group id 'g:1'" in out.output
