"""The workspace holiday schedule through the real CLI: import (all or nothing), set, show,
`sop plan` honouring it, and `sop doctor` warning before the data runs out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from engine.groups import add_group
from services.calendar import CALENDAR_FILE, coverage_warnings
from services.workspace import Workspace
from sop_models.i18n import use_language
from tests.support.workspaces import Cli, in_production

SCHEDULE_2027 = """date,type,name
2027-01-01,holiday,元旦
2027-02-06,休,春节
2027-02-08,holiday,春节
2027-02-20,班,
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
    assert "line 6: date '2027-13-01' is not YYYY-MM-DD" in result.stderr
    assert "line 7: type 'rest'" in result.stderr
    assert "Traceback" not in result.output
    assert not (workspace.root / CALENDAR_FILE).exists()


def test_an_imported_and_a_set_day_show_up_in_the_year_and_in_sop_plan(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    cli("calendar", "import", str(_write(tmp_path, SCHEDULE_2027)))
    cli("calendar", "set", "2027-02-09", "holiday", "--name", "春节")
    shown = json.loads(cli("calendar", "show", "2027", "--json").stdout)
    assert shown["source"] == "entered"
    days = {d["date"]: (d["type"], d["name"]) for d in shown["days"]}
    assert days["2027-02-09"] == ("holiday", "春节")
    assert days["2027-02-20"] == ("workday", None)
    assert "春节" in (workspace.root / CALENDAR_FILE).read_text(encoding="utf-8")

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
    rows = "".join(f"{y}-10-01,holiday,国庆节\n" for y in (year, year + 1))
    cli("calendar", "import", str(_write(tmp_path, "date,type,name\n" + rows)))
    assert "ok  calendar: 节假日数据覆盖未来 45 天" in cli("doctor").stdout
