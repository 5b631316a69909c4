"""Group registry and member joins on a real database (SQLite, and PostgreSQL via db_url)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from engine.group_csv import import_groups_csv
from engine.groups import (
    BadRowsError,
    DuplicateGroupError,
    GroupRegistryError,
    UnknownGroupError,
    add_group,
    get_group,
    list_groups,
    set_alias,
)
from engine.members import import_member_joins, joins_between
from services.groups import import_groups
from services.workspace import Workspace
from sop_models.errors import DataFileError
from tests.support.workspaces import save_example_as

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


HEADER = "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"


def test_add_group_stores_chinese_names_and_tags(engine_db: Engine) -> None:
    with Session(engine_db) as session:
        add_group(
            session,
            id="wrOgAAA1",
            name="上海宝妈福利群",
            sop_id="mother-baby",
            owner="小美",
            channel="wecom_mass",
            target="wrOgAAA1",
            sender="zhangsan",
            tags=["city:上海", "stage:成熟期"],
            start_date=date(2025, 3, 1),
            member_count=186,
            now=NOW,
        )
        session.commit()
    with Session(engine_db) as session:
        group = get_group(session, "wrOgAAA1")
        assert group.name == "上海宝妈福利群"
        assert group.tag_list == ["city:上海", "stage:成熟期"]
        assert group.start_date == date(2025, 3, 1)
        assert group.created_at == NOW
        assert group.alias == "production"


def test_add_group_refuses_duplicate_id_in_one_line(engine_db: Engine) -> None:
    with Session(engine_db) as session:
        add_group(session, id="g1", name="一群", sop_id="demo", now=NOW)
        session.commit()
        with pytest.raises(DuplicateGroupError) as err:
            add_group(session, id="g1", name="又一群", sop_id="demo", now=NOW)
    assert str(err.value) == "group 'g1' is already registered"


def test_add_group_refuses_webhook_url_as_target(engine_db: Engine) -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret"
    with (
        Session(engine_db) as session,
        pytest.raises(GroupRegistryError, match="not its webhook URL"),
    ):
        add_group(
            session, id="g1", name="一群", sop_id="demo", channel="robot", target=url, now=NOW
        )


def test_import_groups_csv_with_bom_and_list_by_sop_and_tag(
    engine_db: Engine, tmp_path: Path
) -> None:
    csv_path = write(
        tmp_path / "groups.csv",
        HEADER
        + "g1,上海一群,小美,zhangsan,wecom_mass,wrOg1,fashion,production,2025-03-01,200,"
        + "city:上海;type:福利群\n"
        + "g2,北京一群,小王,,robot,ops-robot,fashion,candidate,,150,city:北京\n"
        + "g3,试点群,小美,,console,,edu,,,,\n",
        bom=True,
    )
    with Session(engine_db) as session:
        assert import_groups_csv(session, csv_path, now=NOW) == 3
        session.commit()
    with Session(engine_db) as session:
        assert [g.id for g in list_groups(session)] == ["g1", "g2", "g3"]
        assert [g.id for g in list_groups(session, sop_id="fashion")] == ["g1", "g2"]
        assert [g.id for g in list_groups(session, tag="city:上海")] == ["g1"]
        assert [g.id for g in list_groups(session, sop_id="edu", tag="city:上海")] == []
        g2 = get_group(session, "g2")
        assert (g2.alias, g2.channel, g2.member_count) == ("candidate", "robot", 150)
        assert get_group(session, "g3").tag_list == []


def test_import_groups_csv_reports_every_bad_row_and_imports_nothing(
    engine_db: Engine, tmp_path: Path
) -> None:
    with Session(engine_db) as session:
        add_group(session, id="old", name="老群", sop_id="demo", now=NOW)
        session.commit()
    csv_path = write(
        tmp_path / "groups.csv",
        HEADER
        + "g1,好群,,,console,,demo,,,,\n"
        + "g2,坏群,,,fax,,demo,,2025-13-01,many,\n"
        + "g1,重复,,,console,,demo,,,,\n"
        + "old,老群,,,console,,demo,,,,\n"
        + ",无名,,,console,,,beta,,,\n",
    )
    with Session(engine_db) as session:
        with pytest.raises(BadRowsError) as err:
            import_groups_csv(session, csv_path, now=NOW)
        session.rollback()
        assert list_groups(session) == [get_group(session, "old")]
    lines = str(err.value).splitlines()
    assert all(line.startswith(f"{csv_path}: line ") for line in lines)
    text = str(err.value)
    assert "line 3: channel: 'fax' is not one of" in text
    assert "line 3: start_date: '2025-13-01' is not a date" in text
    assert "line 3: member_count: 'many' is not a whole number" in text
    assert "line 4: id: 'g1' repeats line 2" in text
    assert "line 5: id: 'old' is already registered" in text
    assert "line 6: id: required" in text
    assert "line 6: sop: required" in text
    assert "line 6: alias: 'beta' is not one of production, candidate" in text
    assert ": line 2:" not in text


def test_import_groups_csv_names_missing_and_unknown_columns(
    engine_db: Engine, tmp_path: Path
) -> None:
    csv_path = write(tmp_path / "groups.csv", "id,name,citty\ng1,一群,上海\n")
    with Session(engine_db) as session, pytest.raises(DataFileError) as err:
        import_groups_csv(session, csv_path, now=NOW)
    assert "missing column(s) sop" in str(err.value)
    assert "unknown column(s) citty" in str(err.value)
    assert str(err.value).endswith(f"(known columns: {HEADER.strip()})")
    assert "\n" not in str(err.value)


def test_import_groups_csv_refuses_non_utf8_file(engine_db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "g1,上海一群,,,console,,demo,,,,\n").encode("gbk"))
    with Session(engine_db) as session, pytest.raises(DataFileError, match="not UTF-8"):
        import_groups_csv(session, path, now=NOW)


def test_set_alias_moves_groups_and_refuses_unknown_ids(engine_db: Engine) -> None:
    with Session(engine_db) as session:
        for gid in ("g1", "g2", "g3"):
            add_group(session, id=gid, name=gid, sop_id="demo", now=NOW)
        session.commit()
        set_alias(session, ["g1", "g3"], "candidate")
        session.commit()
        with pytest.raises(UnknownGroupError, match="unknown group id\\(s\\): nope, zip"):
            set_alias(session, ["g2", "nope", "zip"], "candidate")
        with pytest.raises(GroupRegistryError, match="'staging' is not one of"):
            set_alias(session, ["g2"], "staging")
        session.rollback()
    with Session(engine_db) as session:
        assert {g.id: g.alias for g in list_groups(session)} == {
            "g1": "candidate",
            "g2": "production",
            "g3": "candidate",
        }


@pytest.fixture
def two_groups(engine_db: Engine) -> Engine:
    with Session(engine_db) as session:
        add_group(session, id="g1", name="一群", sop_id="demo", now=NOW)
        add_group(session, id="g2", name="二群", sop_id="demo", now=NOW)
        session.commit()
    return engine_db


def test_member_joins_import_is_idempotent_across_formats_and_offsets(
    two_groups: Engine, tmp_path: Path
) -> None:
    csv_path = write(
        tmp_path / "joins.csv",
        "group,member,name,joined_at\n"
        "g1,wmA,王小花,2025-03-03T10:00:00+08:00\n"
        "g1,wmB,李雷,2025-03-03T11:30:00+08:00\n"
        "g2,wmA,王小花,2025-03-04T09:15:00+08:00\n",
        bom=True,
    )
    same_rows = [  # the first is line 2 of the CSV, written in UTC
        {"group": "g1", "member": "wmA", "name": "王小花", "joined_at": "2025-03-03T02:00Z"},
        {"group": "g2", "member": "wmC", "name": "韩梅梅", "joined_at": "2025-03-05T20:00+08:00"},
    ]
    jsonl_path = write(
        tmp_path / "joins.jsonl",
        "\n".join(json.dumps(r, ensure_ascii=False) for r in same_rows) + "\n",
    )
    with Session(two_groups) as session:
        assert import_member_joins(session, csv_path) == 3
        session.commit()
        assert import_member_joins(session, csv_path) == 0
        assert import_member_joins(session, jsonl_path) == 1
        session.commit()
    with Session(two_groups) as session:
        start = datetime(2025, 3, 3, tzinfo=SHANGHAI)
        joins = joins_between(session, start, start + timedelta(days=3))
        assert [(j.group_id, j.member_id) for j in joins] == [
            ("g1", "wmA"),
            ("g1", "wmB"),
            ("g2", "wmA"),
            ("g2", "wmC"),
        ]
        assert joins[0].joined_at == datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
        assert joins[0].member_name == "王小花"
        only_g2 = joins_between(session, start, start + timedelta(days=2), group_ids=["g2"])
        assert [j.member_id for j in only_g2] == ["wmA"]


def test_member_joins_import_reports_every_bad_line_and_stores_nothing(
    two_groups: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "joins.jsonl",
        '{"group": "g1", "member": "wmA", "joined_at": "2025-03-03T10:00:00+08:00"}\n'
        '{"group": "g9", "member": "wmB", "joined_at": "2025-03-03T10:00:00+08:00"}\n'
        "\n"
        '{"group": "g1", "member": "wmC", "joined_at": "2025-03-03T10:00:00"}\n'
        "not json\n"
        '{"group": "g2", "joined_at": "yesterday"}\n',
    )
    with Session(two_groups) as session:
        with pytest.raises(BadRowsError) as err:
            import_member_joins(session, path)
        session.rollback()
        anytime = datetime(2000, 1, 1, tzinfo=UTC)
        assert joins_between(session, anytime, anytime + timedelta(days=365 * 50)) == []
    assert str(err.value).splitlines() == [
        f"{path}: line 2: group: unknown group 'g9'",
        f"{path}: line 4: joined_at: '2025-03-03T10:00:00' has no UTC offset (e.g. +08:00)",
        f"{path}: line 5: not JSON (Expecting value)",
        f"{path}: line 6: member: required",
        f"{path}: line 6: joined_at: 'yesterday' is not an ISO-8601 time",
    ]


def test_an_imported_start_date_may_be_a_year_ahead_of_the_workspace_day_not_utcs(
    workspace: Workspace, tmp_path: Path
) -> None:
    now = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # 00:30 on 11-28 in Beijing
    a_year_on = date(2026, 11, 28) + timedelta(days=366)
    save_example_as(workspace, "demo")
    path = write(tmp_path / "g.csv", HEADER + f"g1,一群,,,,,demo,,{a_year_on},,\n")
    count, _ = import_groups(workspace, path=path, now=now)
    assert count == 1
