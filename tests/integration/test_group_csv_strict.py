"""`sop groups import` is strict and all or nothing, as an ops lead expects of a spreadsheet upload.

Real databases (SQLite, and PostgreSQL via db_url) and files under tmp_path; one case goes
through the real CLI to show that a user's bad file is an exit code and lines, not a traceback.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from engine.group_csv import import_groups_csv
from engine.groups import (
    MAX_MEMBERS,
    BadRowsError,
    add_group,
    get_group,
    list_groups,
)
from sop_models.errors import DataFileError
from sopflow.cli import groups_cmd, main
from tests.support.workspaces import Cli

if "groups_cmd" not in main.COMMAND_MODULES:
    groups_cmd.register(main.app)

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
HEADER = "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"
KNOWN = "known columns: " + HEADER.strip()


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def row(gid: str, *, name: str = "一群", start: str = "", members: str = "") -> str:
    return f"{gid},{name},,,console,,demo,,{start},{members},\n"


@pytest.fixture
def registered(engine_db: Engine) -> Engine:
    """A database with one group already registered, which no refused import may touch."""
    with Session(engine_db) as session:
        add_group(session, id="old", name="老群", sop_id="demo", now=NOW)
        session.commit()
    return engine_db


def refused(engine: Engine, path: Path, error: type[Exception] = BadRowsError) -> str:
    """The refusal's text; and the registry still holds only the group 'old'."""
    with Session(engine) as session:
        with pytest.raises(error) as err:
            import_groups_csv(session, path, now=NOW)
        session.rollback()
        assert [g.id for g in list_groups(session)] == ["old"]
    return str(err.value)


def imported(engine: Engine, path: Path) -> int:
    with Session(engine) as session:
        count = import_groups_csv(session, path, now=NOW)
        session.commit()
    return count


def test_unknown_columns_are_refused_naming_them_and_the_known_columns(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path / "g.csv", "ID,name,sop,城市\ng1,一群,demo,上海\n")
    text = refused(registered, path, DataFileError)
    assert text == (f"{path}: missing column(s) id; unknown column(s) ID, 城市 ({KNOWN})")


def test_repeated_columns_are_refused_even_when_spelled_with_spaces(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path / "g.csv", "id,name,sop, name,tags,tags\ng1,一群,demo,二群,a,b\n")
    text = refused(registered, path, DataFileError)
    assert text == f"{path}: repeated column(s) name, tags ({KNOWN})"


def test_a_column_without_a_name_is_refused_with_its_position(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path / "g.csv", "id,name,sop,\ng1,一群,demo,\n")
    text = refused(registered, path, DataFileError)
    assert "unknown column(s) (no name, column 4)" in text
    assert "\n" not in text


def test_a_row_with_more_fields_than_the_header_is_refused_with_its_line(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "g.csv",
        HEADER
        + row("g1")
        + "g2,上海,宝妈群,,,console,,demo,,,,\n"  # an unquoted comma in the name
        + row("g3")
        + "g4,杭州群,,,console,,demo,,,,,\n",  # one empty field too many is still too many
    )
    assert refused(registered, path).splitlines() == [
        f"{path}: line 3: 12 fields but the header has 11 (extra: ''); quote a value that"
        " contains a comma",
        f"{path}: line 5: 12 fields but the header has 11 (extra: ''); quote a value that"
        " contains a comma",
    ]


def test_a_quoted_comma_keeps_chinese_text_intact(registered: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "g.csv",
        HEADER + '"g2","上海,宝妈群（一）",小美,,console,,demo,,,,"city:上海;阶段:成熟期"\n',
        bom=True,
    )
    assert imported(registered, path) == 1
    with Session(registered) as session:
        group = get_group(session, "g2")
        assert (group.name, group.owner) == ("上海,宝妈群（一）", "小美")
        assert group.tag_list == ["city:上海", "阶段:成熟期"]


def test_member_count_is_checked_against_the_wecom_customer_group_cap(
    registered: Engine, tmp_path: Path
) -> None:
    assert MAX_MEMBERS == 500
    huge = "9" * 30  # overflowed the database column: a traceback before
    path = write(
        tmp_path / "g.csv",
        HEADER
        + row("g1", members="0")
        + row("g2", members="500")
        + row("g3", members="501")
        + row("g4", members="-1")
        + row("g5", members=huge)
        + row("g6", members="1_000")
        + row("g7", members="１２")  # fullwidth digits
        + row("g8", members="12.5"),
    )
    cap = "is not between 0 and 500 (a WeCom customer group holds at most 500 members)"
    assert refused(registered, path).splitlines() == [
        f"{path}: line 4: member_count: 501 {cap}",
        f"{path}: line 5: member_count: -1 {cap}",
        f"{path}: line 6: member_count: '{huge}' {cap}",
        f"{path}: line 7: member_count: '1_000' is not a whole number",
        f"{path}: line 8: member_count: '１２' is not a whole number",
        f"{path}: line 9: member_count: '12.5' is not a whole number",
    ]
    ok = write(tmp_path / "ok.csv", HEADER + row("g1", members="0") + row("g2", members="500"))
    assert imported(registered, ok) == 2


def test_a_number_too_long_to_convert_is_one_short_line(registered: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", HEADER + row("g1", members="7" * 5000))
    (line,) = refused(registered, path).splitlines()
    assert line.startswith(f"{path}: line 2: member_count: '7777")
    assert "…' is not between 0 and 500" in line and len(line) - len(str(path)) < 150


def test_start_dates_must_be_real_days_in_a_sane_window(registered: Engine, tmp_path: Path) -> None:
    a_year_on = NOW.date() + timedelta(days=366)
    path = write(
        tmp_path / "g.csv",
        HEADER
        + row("g1", start="2025-02-29")
        + row("g2", start="20250301")  # ISO basic form: Python accepts it, a sheet should not
        + row("g3", start="2025-W09-1")
        + row("g4", start="1999-12-31")
        + row("g5", start="9999-12-31")
        + row("g6", start=(a_year_on + timedelta(days=1)).isoformat())
        + row("g7", start="2000-01-01")
        + row("g8", start=a_year_on.isoformat()),
    )
    window = f"is not between 2000-01-01 and {a_year_on}"
    assert refused(registered, path).splitlines() == [
        f"{path}: line 2: start_date: '2025-02-29' is not a date (YYYY-MM-DD)",
        f"{path}: line 3: start_date: '20250301' is not a date (YYYY-MM-DD)",
        f"{path}: line 4: start_date: '2025-W09-1' is not a date (YYYY-MM-DD)",
        f"{path}: line 5: start_date: 1999-12-31 {window}",
        f"{path}: line 6: start_date: 9999-12-31 {window}",
        f"{path}: line 7: start_date: {a_year_on + timedelta(days=1)} {window}",
    ]
    ok = write(
        tmp_path / "ok.csv",
        HEADER + row("g7", start="2000-01-01") + row("g8", start=a_year_on.isoformat()),
    )
    assert imported(registered, ok) == 2
    with Session(registered) as session:
        assert get_group(session, "g8").start_date == a_year_on
        assert get_group(session, "g7").start_date == date(2000, 1, 1)


def test_every_problem_of_every_row_in_one_error_and_nothing_imported(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "g.csv",
        HEADER
        + row("g1")
        + "g2,坏群,,,fax,,demo,beta,2025-13-01,900,\n"
        + row("g3")
        + "g4,多了,,,console,,demo,,,,,x\n"
        + row("old")
        + row("g1", name="重复"),
        bom=True,
    )
    assert refused(registered, path).splitlines() == [
        f"{path}: line 3: start_date: '2025-13-01' is not a date (YYYY-MM-DD)",
        f"{path}: line 3: channel: 'fax' is not one of console, outbox, robot, wecom_mass,"
        " tasklist",
        f"{path}: line 3: alias: 'beta' is not one of production, candidate",
        f"{path}: line 3: member_count: 900 is not between 0 and 500 (a WeCom customer group"
        " holds at most 500 members)",
        f"{path}: line 5: 12 fields but the header has 11 (extra: 'x'); quote a value that"
        " contains a comma",
        f"{path}: line 6: id: 'old' is already registered",
        f"{path}: line 7: id: 'g1' repeats line 2",
    ]


def test_a_row_spanning_lines_is_reported_by_its_first_line(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "g.csv",
        HEADER + '"g1","上海\n宝妈群",,,console,,demo,,,,\n' + row("g2", members="501"),
    )
    (line,) = refused(registered, path).splitlines()
    assert line.startswith(f"{path}: line 4: member_count: 501 ")


def test_blank_rows_are_skipped_and_short_rows_read_as_empty(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "g.csv",
        HEADER + row("g1") + "\n,,,,,,,,,,\n" + "g2,二群,小美,,console,,demo\n" + " , ,\n",
    )
    assert imported(registered, path) == 2
    with Session(registered) as session:
        g2 = get_group(session, "g2")
        assert (g2.owner, g2.member_count, g2.start_date, g2.tag_list) == ("小美", 0, None, [])


def test_a_cell_past_the_csv_size_limit_is_a_line_not_a_traceback(
    registered: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "g.csv", HEADER + row("g1", members="501") + row("g2", name="群" * 200_000)
    )
    lines = refused(registered, path).splitlines()
    assert lines[0].startswith(f"{path}: line 2: member_count: 501 ")
    assert lines[1] == f"{path}: line 3: not CSV (field larger than field limit (131072))"


def test_cli_reports_a_huge_member_count_as_lines_and_imports_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "groups.csv",
        HEADER + row("g1") + row("g2", members="9" * 30) + "g3,三群,,,console,,demo,,,,,\n",
    )
    result = cli("groups", "import", str(path), ok=False)
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[3] for line in lines] == ["line 3", "line 4"]
    assert "member_count" in lines[0] and "12 fields but the header has 11" in lines[1]
    assert cli("groups", "list").output.strip() == "no groups"
