"""The workspace holiday schedule through the real CLI: import (all or nothing), set, show,
`sop plan` honouring it, and `sop doctor` warning before the data runs out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from engine.groups import add_group
from services.calendar import (
    CALENDAR_FILE,
    complete_years,
    coverage_warnings,
    load_entered,
    workspace_calendar,
)
from services.workspace import Workspace, init_workspace
from sop_models.i18n import use_language
from tests.support.workspaces import Cli, in_production

SCHEDULE_2027 = """date,type,name
2027-01-01,holiday,元旦
2027-02-06,休,春节
2027-02-08,holiday,春节
2027-02-20,班,
2027-10-01,holiday,国庆节
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_with_bad_rows_is_refused_by_line_and_nothing_is_entered(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    bad = _write(tmp_path, SCHEDULE_2027 + "2027-13-01,holiday,x\n2027-05-01,rest,劳动节\n")
    result = cli("calendar", "import", str(bad), ok=False)
    assert result.exit_code == 2
    assert "line 7: date '2027-13-01' is not YYYY-MM-DD" in result.stderr
    assert "line 8: type 'rest'" in result.stderr
    assert "Traceback" not in result.output
    assert load_entered(workspace) == {} and complete_years(workspace) == frozenset()


def test_an_imported_and_a_set_day_show_up_in_the_year_and_in_sop_plan(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    imported = cli("calendar", "import", str(_write(tmp_path, SCHEDULE_2027))).stdout
    assert "2027: schedule complete" in imported
    cli("calendar", "set", "2027-02-09", "holiday", "--name", "春节")
    shown = json.loads(cli("calendar", "show", "2027", "--json").stdout)
    assert shown["source"] == "entered"
    days = {d["date"]: (d["type"], d["name"]) for d in shown["days"]}
    assert days["2027-02-09"] == ("holiday", "春节")
    assert days["2027-02-20"] == ("workday", None)
    assert not (workspace.root / CALENDAR_FILE).exists()  # the database holds it

    now = datetime(2026, 11, 1, tzinfo=UTC)
    in_production(workspace, "mombaby-refined", now=now)
    with workspace.session() as session:
        add_group(
            session,
            id="g1",
            name="一群",
            sop_id="mombaby-refined",
            now=now,
            start_date=date(2026, 1, 1),
        )
        session.commit()
    result = cli("plan", "mombaby-refined", "--from", "2027-02-05", "--to", "2027-02-21", "--json")
    morning = [
        a["at"][:10] for a in json.loads(result.stdout) if a["slot"] == "columns.morning-knowledge"
    ]
    assert "2027-02-08" not in morning and "2027-02-09" not in morning
    assert "2027-02-10" in morning and "2027-02-20" in morning
    assert "holiday schedule" not in result.stderr
    unknown = cli("plan", "mombaby-refined", "--from", "2028-01-03", "--to", "2028-01-03")
    assert "sop: warning: 2028 年没有节假日安排" in unknown.stderr


def test_coverage_warns_45_days_before_the_data_runs_out(workspace: Workspace) -> None:
    (early,) = coverage_warnings(workspace, today=date(2026, 11, 17))
    assert early.startswith("节假日数据到 2026-12-31 为止（还有 44 天；")
    assert "录入 2027 年的官方安排" in early
    assert coverage_warnings(workspace, today=date(2026, 11, 15)) == []
    (none,) = coverage_warnings(workspace, today=date(2027, 1, 4))
    assert none.startswith("2027 年没有节假日安排") and "'weekdays'" in none
    with use_language("en"):
        (early,) = coverage_warnings(workspace, today=date(2026, 11, 17))
        (none,) = coverage_warnings(workspace, today=date(2027, 1, 4))
    assert "holiday data ends 2026-12-31 (44 days from now" in early
    assert "no holiday schedule for 2027" in none and "'weekdays'" in none


def test_doctor_is_quiet_once_this_and_next_year_are_entered(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    year = datetime.now(UTC).astimezone(workspace.settings.zone).year  # the doctor's year
    rows = "".join(f"{y}-01-01,holiday,元旦\n{y}-10-01,holiday,国庆节\n" for y in (year, year + 1))
    cli("calendar", "import", str(_write(tmp_path, "date,type,name\n" + rows)))
    assert "ok  calendar: 节假日数据覆盖未来 45 天" in cli("doctor").stdout


def _group_on_mombaby(ws: Workspace) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    in_production(ws, "mombaby-refined", now=now)
    with ws.session() as session:
        add_group(session, id="g1", name="一群", sop_id="mombaby-refined", now=now,
                  start_date=date(2026, 1, 1))  # fmt: skip
        session.commit()


def _morning(cli: Cli, start: str, end: str) -> tuple[list[str], str]:
    result = cli("plan", "mombaby-refined", "--from", start, "--to", end, "--json")
    rows = json.loads(result.stdout)
    return [a["at"][:10] for a in rows if a["slot"] == "columns.morning-knowledge"], result.stderr


def test_one_set_day_does_not_make_its_year_known_until_the_year_is_marked_complete(
    workspace: Workspace, cli: Cli
) -> None:
    _group_on_mombaby(workspace)
    refused = cli("calendar", "complete", "2028", ok=False)
    assert refused.exit_code == 2 and "no holiday of 2028 is entered" in refused.stderr
    cli("calendar", "set", "2028-01-01", "holiday", "--name", "元旦")
    morning, warned = _morning(cli, "2028-10-01", "2028-10-06")
    assert "2028-10-02" not in morning  # National Day: a date-fixed holiday, known anyway
    assert "2028-10-04" in morning  # a Wednesday the fallback guessed
    assert "2028 年没有节假日安排" in warned  # (2027 too: the rotation replays from 2026)
    assert json.loads(cli("calendar", "show", "2028", "--json").stdout)["source"] == (
        "partly entered"
    )
    assert cli("calendar", "complete", "2028", "--by", "李经理").stdout.startswith(
        "2028: schedule complete"
    )
    _, quiet = _morning(cli, "2028-10-01", "2028-10-06")
    assert "2028" not in quiet
    (record,) = [
        r for r in json.loads(cli("audit", "--json").stdout) if r["action"] == "calendar_complete"
    ]
    assert record["actor"].startswith("李经理 (os:")


def test_a_file_without_the_years_new_year_and_national_day_enters_days_but_no_year(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    partial = _write(tmp_path, "date,type,name\n2027-02-06,休,春节\n")
    out = cli("calendar", "import", str(partial)).stdout
    assert "2027: days entered, the year is not marked complete" in out
    assert complete_years(workspace) == frozenset() and date(2027, 2, 6) in load_entered(workspace)


def test_a_calendar_json_of_an_older_workspace_is_moved_into_the_database_once(
    workspace: Workspace, cli: Cli
) -> None:
    rows = [
        {"date": "2027-01-01", "workday": False, "name": "元旦"},
        {"date": "2027-02-20", "workday": True, "name": None},
        {"date": "2027-10-01", "workday": False, "name": "国庆节"},
    ]
    legacy = workspace.root / CALENDAR_FILE
    legacy.write_text(json.dumps({"days": rows}, ensure_ascii=False), encoding="utf-8")
    shown = json.loads(cli("calendar", "show", "2027", "--json").stdout)
    assert shown["source"] == "entered"  # both date-fixed holidays: the whole year
    assert {d["date"] for d in shown["days"] if d["entered"]} >= {"2027-01-01", "2027-02-20"}
    assert not legacy.exists() and legacy.with_name("calendar.json.imported").exists()
    cli("calendar", "show", "2027")
    records = json.loads(cli("audit", "--json").stdout)
    moved = [r for r in records if r["action"] == "calendar_import"]
    assert len(moved) == 1 and "moved into the database" in moved[0]["note"]
    assert cli("audit", "verify").exit_code == 0


def test_a_second_cache_on_the_same_database_honours_a_holiday_set_on_the_first(
    tmp_path: Path, db_url: str
) -> None:
    store = f"file://{tmp_path}/shared/store.git"
    first = init_workspace(tmp_path / "registering", store_url=store, database_url=db_url)
    second = init_workspace(tmp_path / "worker-cache", store_url=store, database_url=db_url)
    try:
        _group_on_mombaby(first)
        Cli(first.root)("calendar", "set", "2027-01-05", "holiday", "--name", "团建日")
        morning, _ = _morning(Cli(second.root), "2027-01-04", "2027-01-06")
        assert morning == ["2027-01-04", "2027-01-06"]
        assert workspace_calendar(second).is_holiday(date(2027, 1, 5))
    finally:
        first.close()
        second.close()
