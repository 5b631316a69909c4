"""SOP validation: every problem names the file and the exact field path, all at once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sop_models import (
    DocumentInvalid,
    SopDocument,
    parse_document,
    read_data,
    template_variables,
    validate_data,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MOMBABY = (EXAMPLES / "mombaby-refined.yaml").read_text(encoding="utf-8")
PROMO = (EXAMPLES / "flash-sale-promo.yaml").read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    """The one-line problems parse_document reports for `text` (which must be invalid)."""
    with pytest.raises(DocumentInvalid) as info:
        parse_document(text, "bad.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems)
    return lines


def changed(change: Callable[[dict[str, Any]], None], base: str = MOMBABY) -> str:
    """YAML text of an example with `change` applied to its plain data."""
    data = read_data(base)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def assert_reported(lines: list[str], path: str, fragment: str) -> None:
    """Some line is `bad.yaml: <path>: ...fragment...`."""
    prefix = f"bad.yaml: {path}: "
    hits = [line for line in lines if line.startswith(prefix) and fragment in line]
    assert hits, f"no problem at {path} mentioning {fragment!r} in:\n" + "\n".join(lines)


def test_unquoted_25_00_is_reported_as_a_bad_time_at_its_column() -> None:
    lines = problems_of(MOMBABY.replace("time: 20:00", "time: 25:00", 1))
    assert lines == [
        "bad.yaml: schedule.columns[2].time: '25:00' is not a time of day (HH:MM, 00:00-23:59)"
    ]


def test_quoted_bad_minutes_are_reported_too() -> None:
    lines = problems_of(changed(lambda d: d["schedule"]["columns"][1].update(time="15:60")))
    assert_reported(lines, "schedule.columns[1].time", "15:60")


def test_a_day_4_action_in_a_3_day_cold_start_is_refused() -> None:
    text = changed(lambda d: d["playbooks"]["cold_start"]["actions"][2].update(day=4))
    assert_reported(problems_of(text), "playbooks.cold_start.actions[2].day", "day 4")


def test_a_streak_longer_than_the_cold_start_is_refused() -> None:
    text = changed(lambda d: d["playbooks"]["cold_start"]["hook"].update(streak_days=5))
    assert_reported(problems_of(text), "playbooks.cold_start.hook.streak_days", "5-day")


def _template(data: dict[str, Any], template_id: str) -> dict[str, Any]:
    return next(t for t in data["templates"] if t["id"] == template_id)


def test_a_template_using_an_undeclared_variable_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        _template(d, "topic")["body"] = "{{ content_title }}，已有 {{ member_count }} 位妈妈参与"

    lines = problems_of(changed(change))
    assert_reported(lines, "templates[4].body", "'member_count'")


def test_variables_in_if_and_for_statements_must_be_declared_too() -> None:
    def change(d: dict[str, Any]) -> None:
        _template(d, "topic")["body"] = (
            "{% if is_vip %}会员专享{% endif %}{% for item in picks %}{{ item.name }}{% endfor %}"
        )

    lines = problems_of(changed(change))
    assert_reported(lines, "templates[4].body", "'is_vip', 'picks'")


def test_an_unclosed_template_expression_is_reported_at_its_body() -> None:
    text = changed(lambda d: _template(d, "topic").update(body="今天聊聊 {{ content_title"))
    assert_reported(problems_of(text), "templates[4].body", "unclosed")


def test_a_reference_to_an_unknown_template_is_refused_wherever_it_is() -> None:
    def change(d: dict[str, Any]) -> None:
        d["schedule"]["columns"][1]["template"] = "topix"
        d["playbooks"]["campaigns"][0]["actions"][1]["template"] = "qixi-mian"

    lines = problems_of(changed(change))
    assert_reported(lines, "schedule.columns[1].template", "unknown template 'topix'")
    assert_reported(lines, "playbooks.campaigns[0].actions[1].template", "'qixi-mian'")


def test_a_reference_to_an_unknown_content_tag_is_refused() -> None:
    text = changed(
        lambda d: d["schedule"]["columns"][0].update(content_tag="202503 促活 – 早教游戏 – 图文")
    )
    assert_reported(
        problems_of(text), "schedule.columns[0].content_tag", "'202503 促活-早教游戏-图文'"
    )


def test_a_campaign_ending_before_it_starts_is_refused() -> None:
    text = changed(lambda d: d["playbooks"]["campaigns"][1]["window"].update(end="2026-08-31"))
    assert_reported(
        problems_of(text), "playbooks.campaigns[1].window.end", "ends 2026-08-31 before"
    )


def test_a_campaign_action_outside_its_window_is_refused() -> None:
    text = changed(lambda d: d["playbooks"]["campaigns"][0]["actions"][1].update(day=5))
    assert_reported(problems_of(text), "playbooks.campaigns[0].actions[1].day", "4 days")


def test_a_check_in_longer_than_its_window_is_refused() -> None:
    text = changed(lambda d: d["playbooks"]["campaigns"][1]["check_in"].update(start_day=2))
    assert_reported(problems_of(text), "playbooks.campaigns[1].check_in.days", "21-day")


def test_duplicate_content_tags_are_refused_after_normalising_separators() -> None:
    text = changed(lambda d: d["content_library"][1].update(tag="202503 促活 — 育儿干货 — 图文"))
    assert_reported(problems_of(text), "content_library[1].tag", "duplicate content tag")


def test_a_tag_whose_category_or_form_differs_from_the_item_is_refused() -> None:
    text = changed(lambda d: d["content_library"][3].update(category="brand", form="voice"))
    lines = problems_of(text)
    assert_reported(lines, "content_library[3].tag", "category 转化")
    assert_reported(lines, "content_library[3].tag", "form 短视频")


def test_a_malformed_tag_is_refused() -> None:
    text = changed(lambda d: d["content_library"][0].update(tag="2025 促活-育儿干货"))
    assert_reported(problems_of(text), "content_library[0].tag", "not a content tag")


@pytest.mark.parametrize(
    ("date", "field", "fragment"),
    [
        ({"calendar": "lunar", "month": 13, "day": 1}, "month", "12"),
        ({"calendar": "lunar", "month": 0, "day": 1}, "month", "1"),
        ({"calendar": "lunar", "month": 8, "day": 31}, "day", "lunar day 31"),
        ({"calendar": "gregorian", "month": 2, "day": 30}, "day", "2/30"),
        ({"calendar": "gregorian", "month": 4, "day": 31}, "day", "4/31"),
    ],
)
def test_a_calendar_date_that_cannot_exist_is_refused(
    date: dict[str, Any], field: str, fragment: str
) -> None:
    text = changed(lambda d: d["schedule"]["calendar_columns"][0].update(date=date))
    assert_reported(problems_of(text), f"schedule.calendar_columns[0].date.{field}", fragment)


def test_february_29_is_a_valid_yearly_date() -> None:
    date = {"calendar": "gregorian", "month": 2, "day": 29}
    doc = parse_document(changed(lambda d: d["schedule"]["calendar_columns"][0].update(date=date)))
    assert str(doc.schedule.calendar_columns[0].date) == "2/29"


@pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
def test_an_empty_welcome_part_is_refused(blank: str) -> None:
    text = changed(lambda d: d["base_content"]["welcome"].update(value=blank))
    assert_reported(problems_of(text), "base_content.welcome.value", "must not be empty")


def test_more_than_three_admins_are_refused() -> None:
    text = changed(lambda d: d["roles"].update(admins=["甲", "乙", "丙", "丁"]))
    assert_reported(problems_of(text), "roles.admins", "at most 3")


def test_a_group_without_admins_is_refused() -> None:
    text = changed(lambda d: d["roles"].update(admins=[]))
    assert_reported(problems_of(text), "roles.admins", "at least 1")


@pytest.mark.parametrize(
    ("section", "index", "path"),
    [
        (("schedule", "columns"), 1, "schedule.columns[1].id"),
        (("templates",), 3, "templates[3].id"),
        (("playbooks", "campaigns"), 1, "playbooks.campaigns[1].id"),
        (("playbooks", "cold_start", "actions"), 2, "playbooks.cold_start.actions[2].id"),
    ],
)
def test_duplicate_ids_within_a_list_are_refused(
    section: tuple[str, ...], index: int, path: str
) -> None:
    def change(d: dict[str, Any]) -> None:
        items = d
        for key in section:
            items = items[key]
        items[index]["id"] = items[0]["id"]  # type: ignore[index]

    assert_reported(problems_of(changed(change)), path, "duplicate id")


def test_a_weekly_column_without_weekdays_is_refused() -> None:
    text = changed(lambda d: d["schedule"]["columns"][3].pop("weekdays"))
    assert_reported(problems_of(text), "schedule.columns[3].weekdays", "weekly column")


def test_a_rate_threshold_written_as_percent_is_refused() -> None:
    text = changed(lambda d: d["kpis"]["alerts"][0].update(threshold=20))
    assert_reported(problems_of(text), "kpis.alerts[0].threshold", "fraction 0..1")


def test_an_unknown_metric_name_is_refused() -> None:
    text = changed(lambda d: d["kpis"]["targets"][0].update(metric="open-rate"))
    assert_reported(problems_of(text), "kpis.targets[0].metric", "'open-rate'")


def test_group_buy_and_scarcity_rules_are_checked() -> None:
    def change(d: dict[str, Any]) -> None:
        campaign = d["playbooks"]["campaigns"][0]
        campaign["group_buy"]["goal_orders"] = 5
        campaign["scarcity"][0].pop("limit")
        campaign["scarcity"][1]["day"] = 9

    lines = problems_of(changed(change, PROMO))
    assert_reported(lines, "playbooks.campaigns[0].group_buy.goal_orders", "below ships_at")
    assert_reported(lines, "playbooks.campaigns[0].scarcity[0].limit", "needs limit")
    assert_reported(lines, "playbooks.campaigns[0].scarcity[1].day", "outside")


def test_a_per_member_limit_above_the_first_n_limit_is_refused_at_its_path() -> None:
    def change(d: dict[str, Any]) -> None:
        d["playbooks"]["campaigns"][0]["scarcity"][0]["per_member_limit"] = 60  # limit is 50

    lines = problems_of(changed(change, PROMO))
    assert_reported(
        lines, "playbooks.campaigns[0].scarcity[0].per_member_limit", "above the offer's limit 50"
    )


def test_a_per_member_limit_of_zero_is_refused_at_its_path() -> None:
    def change(d: dict[str, Any]) -> None:
        d["playbooks"]["campaigns"][0]["scarcity"][1]["per_member_limit"] = 0

    lines = problems_of(changed(change, PROMO))
    assert_reported(lines, "playbooks.campaigns[0].scarcity[1].per_member_limit", "1")


def test_a_window_with_both_dates_and_an_anchor_is_refused() -> None:
    text = changed(lambda d: d["playbooks"]["campaigns"][0]["window"].update(start="2026-08-10"))
    assert_reported(problems_of(text), "playbooks.campaigns[0].window", "not both")


def test_unknown_fields_and_wrong_types_are_reported_by_path() -> None:
    def change(d: dict[str, Any]) -> None:
        d["schedule"]["columns"][0]["colour"] = "red"
        d["playbooks"]["cold_start"]["days"] = "3"

    lines = problems_of(changed(change))
    assert_reported(lines, "schedule.columns[0].colour", "unknown field")
    assert_reported(lines, "playbooks.cold_start.days", "whole number")


def test_all_structural_and_cross_field_problems_are_reported_together() -> None:
    def change(d: dict[str, Any]) -> None:
        d["schedule"]["columns"][2]["time"] = "25:00"  # structural
        d["roles"]["admins"] = ["甲", "乙", "丙", "丁"]  # structural
        d["base_content"]["welcome"]["warmth"] = " "  # structural
        d["schedule"]["columns"][1]["template"] = "topix"  # cross-field
        d["playbooks"]["cold_start"]["actions"][2]["day"] = 4  # cross-field
        d["templates"][1]["id"] = "welcome"  # cross-field (and makes 'self-intro' unknown)

    lines = problems_of(changed(change))
    for path in (
        "schedule.columns[2].time",
        "roles.admins",
        "base_content.welcome.warmth",
        "schedule.columns[1].template",
        "playbooks.cold_start.actions[2].day",
        "templates[1].id",
        "schedule.on_join[1].template",
    ):
        assert any(line.startswith(f"bad.yaml: {path}: ") for line in lines), path
    assert len(lines) == 7


def test_a_yaml_syntax_error_is_one_problem_with_line_and_column() -> None:
    lines = problems_of("id: x\ntitle: [未闭合\nroles: {}\n")
    assert len(lines) == 1
    assert lines[0].startswith("bad.yaml: (document): YAML syntax error at line ")
    assert "column" in lines[0]


def test_duplicate_yaml_keys_are_refused_instead_of_overwritten() -> None:
    [line] = problems_of(MOMBABY.replace("title: ", "title: 旧标题\ntitle: ", 1))
    assert "duplicate key 'title'" in line and "line 4" in line


def test_chinese_aliases_are_accepted_and_stored_in_english() -> None:
    def change(d: dict[str, Any]) -> None:
        d["community_type"], d["group_purpose"] = "精细化运营型", "快闪群"
        d["schedule"]["columns"][3].update(days="每周", weekdays=["周六", "星期日"])
        d["schedule"]["calendar_columns"][0]["date"]["calendar"] = "农历"
        d["content_library"][0].update(category="促活", form="图文", style="温馨")

    doc = parse_document(changed(change))
    assert (doc.community_type, doc.group_purpose) == ("refined_ops", "flash")
    assert doc.schedule.columns[3].weekdays == ("sat", "sun")
    assert doc.schedule.calendar_columns[0].date.calendar == "lunar"
    item = doc.content_library[0]
    assert (item.category, item.form, item.style) == ("activation", "text_image", "warm")


def test_content_tags_are_stored_with_plain_separators() -> None:
    doc = parse_document(MOMBABY)
    assert doc.content_library[0].tag == "202503 促活-育儿干货-图文"
    assert doc.content_item("202503 促活 — 育儿干货 — 图文") is doc.content_library[0]


def test_model_validate_runs_the_cross_field_checks_as_well() -> None:
    data = parse_document(MOMBABY).model_dump(mode="json")
    data["schedule"]["columns"][1]["template"] = "topix"
    with pytest.raises(DocumentInvalid, match=r"schedule\.columns\[1\]\.template"):
        SopDocument.model_validate(data)


def test_template_variables_skips_bound_names_filters_and_attributes() -> None:
    body = (
        "{% for item in items if item.ok %}{{ item.name | upper }}{{ loop.index }}{% endfor %}"
        "{% set total = base %}{{ total }}{{ user.greet(name=who) }}{{ 'x' ~ tail }}"
        "{% if vip is not defined %}{% elif n is divisibleby 3 %}{% endif %}{{ range(3) }}"
    )
    assert template_variables(body) == {"items", "base", "user", "who", "tail", "vip", "n"}


def test_template_variables_refuses_statements_it_cannot_follow() -> None:
    with pytest.raises(ValueError, match="unsupported template statement 'macro'"):
        template_variables("{% macro card() %}x{% endmacro %}")


def test_rfm_segment_bounds_must_be_ordered() -> None:
    def change(d: dict[str, Any]) -> None:
        d["playbooks"]["mature"]["rfm"]["segments"][0].update(min_orders=5, max_orders=2)

    lines = problems_of(changed(change))
    assert_reported(lines, "playbooks.mature.rfm.segments[0].max_orders", "below min_orders")


def _nodes(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [trail] if trail else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _nodes(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*trail, index))
    return found


@pytest.mark.parametrize("replacement", [None, 7, "文字", [{}], {"x": [1]}])
def test_any_misshapen_value_gives_problems_never_a_crash(replacement: Any) -> None:
    base = read_data(PROMO)
    for trail in _nodes(base)[::7]:
        data = copy.deepcopy(base)
        parent = data
        for key in trail[:-1]:
            parent = parent[key]
        parent[trail[-1]] = replacement
        try:
            validate_data(data, "bad.yaml")
        except DocumentInvalid as err:
            assert all(p.file == "bad.yaml" and "\n" not in p.message for p in err.problems)
