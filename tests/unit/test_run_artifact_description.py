"""The run's table artifact is described by its heading and the planner's warnings."""

from __future__ import annotations

from datetime import date

from flows.playbooks import WARNINGS_SHOWN, artifact_description
from services.playbooks import DayPlan

DAY = date(2027, 1, 5)


def test_the_artifact_description_lists_the_plans_warnings_under_its_heading() -> None:
    planned = DayPlan(day=DAY, warnings=["2027 年没有节假日安排", "撞车"])
    text = artifact_description("mature_day", planned, dry_run=False)
    assert text == "mature_day 2027-01-05\n\n- 2027 年没有节假日安排\n- 撞车"
    quiet = artifact_description("mature_day", DayPlan(day=DAY), dry_run=True)
    assert quiet == "mature_day 2027-01-05 (dry run)"


def test_a_long_list_of_warnings_is_cut_with_the_count_left_out() -> None:
    planned = DayPlan(day=DAY, warnings=[f"w{i}" for i in range(WARNINGS_SHOWN + 5)])
    lines = artifact_description("campaign", planned, dry_run=False).splitlines()
    assert lines[-2:] == [f"- w{WARNINGS_SHOWN - 1}", "- … +5"]
    assert len(lines) == 2 + WARNINGS_SHOWN + 1
