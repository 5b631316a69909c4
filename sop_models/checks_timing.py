"""Cross-field checks of the time skeleton: columns, cold start, mature phase, campaigns."""

from __future__ import annotations

from typing import Any

from sop_models.campaigns import CAMPAIGN_KIND_ALIASES, SCARCITY_KIND_ALIASES
from sop_models.day_rules import DAY_RULE_ALIASES, WEEKDAY_ALIASES, WEEKDAY_NUMBERS
from sop_models.plain import Finding, as_date, as_int, at, dicts
from sop_models.values import canonical_value


def check_timing(data: dict[str, Any]) -> list[Finding]:
    """Problems of columns, cold start, mature phase and campaigns in plain data."""
    out: list[Finding] = []
    _check_columns(at(data, "schedule", "columns"), out)
    _check_cold_start(at(data, "playbooks", "cold_start"), out)
    _check_mature(at(data, "playbooks", "mature"), at(data, "schedule", "columns"), out)
    for path, campaign in dicts(at(data, "playbooks", "campaigns"), "playbooks.campaigns"):
        _check_campaign(campaign, path, out)
    return out


def _check_columns(columns: Any, out: list[Finding]) -> None:
    for path, column in dicts(columns, "schedule.columns"):
        _check_day_rule(column, path, out)


def _check_day_rule(
    column: dict[str, Any], path: str, out: list[Finding], what: str = "column"
) -> None:
    """The day rule of a column or action (`what`): weekly needs weekdays, monthly needs
    month_days or nth_weekdays (and only they take them); 0 is no day."""
    rule = canonical_value(column.get("days", "every_day"), DAY_RULE_ALIASES)
    fields = ("weekdays", "except_weekdays")
    if what == "flash sale" and (rule == "weekly" or any(column.get(f) for f in fields)):
        field = "days" if rule == "weekly" else next(f for f in fields if column.get(f))
        out.append(
            (
                f"{path}.{field}",
                "the flash sale runs on its `weekday`: days takes every_day, workdays, "
                "non_workdays or monthly (no weekly, weekdays or except_weekdays)",
            )
        )
        return
    weekdays = column.get("weekdays")
    if rule == "weekly" and not weekdays:
        out.append((f"{path}.weekdays", f"a weekly {what} needs weekdays, e.g. [mon, wed]"))
    elif rule != "weekly" and weekdays:
        out.append((f"{path}.weekdays", f"weekdays apply only to days: weekly (not {rule})"))
    monthly = [f for f in ("month_days", "nth_weekdays") if column.get(f)]
    if rule == "monthly" and not monthly:
        out.append((f"{path}.month_days", f"a monthly {what} needs month_days or nth_weekdays"))
    for name in monthly if rule != "monthly" else ():
        out.append((f"{path}.{name}", f"{name} apply only to days: monthly (not {rule})"))
    for i, value in enumerate(column.get("month_days") or ()):
        if value == 0:
            out.append((f"{path}.month_days[{i}]", "0 is no day of the month: use 1..31 or -1"))
    for i, nth in enumerate(column.get("nth_weekdays") or ()):
        if isinstance(nth, dict) and nth.get("n") == 0:
            out.append((f"{path}.nth_weekdays[{i}].n", "use 1..5, or -1 for the last"))
    if rule == "weekly" and column.get("except_weekdays"):
        out.append(
            (f"{path}.except_weekdays", f"a weekly {what} lists the weekdays it wants instead")
        )


def _check_cold_start(cold: Any, out: list[Finding]) -> None:
    if not isinstance(cold, dict):
        return
    days = as_int(cold.get("days", 3))
    if days is None:
        return
    for path, action in dicts(cold.get("actions"), "playbooks.cold_start.actions"):
        _check_day_rule(action, path, out, "action")
        day = as_int(action.get("day"))
        if day is not None and day > days:
            out.append((f"{path}.day", f"day {day} is after the cold start's last day ({days})"))
    hook = cold.get("hook")
    if isinstance(hook, dict) and (hook.get("time") is None) != (hook.get("template") is None):
        missing = "template" if hook.get("template") is None else "time"
        where = f"playbooks.cold_start.hook.{missing}"
        out.append((where, "a sign-in prompt needs both time and template"))
    streak = as_int(at(cold, "hook", "streak_days"))
    if streak is not None and streak > days:
        out.append(
            (
                "playbooks.cold_start.hook.streak_days",
                f"a {streak}-day streak does not fit a {days}-day cold start",
            )
        )


def _check_mature(mature: Any, columns: Any, out: list[Finding]) -> None:
    listed = at(mature, "columns")
    known = None
    if isinstance(columns, list | tuple):
        known = {c["id"] for _, c in dicts(columns, "") if isinstance(c.get("id"), str)}
    seen: set[str] = set()
    for index, ident in enumerate(listed if isinstance(listed, list | tuple) else ()):
        if not isinstance(ident, str):
            continue
        path = f"playbooks.mature.columns[{index}]"
        if ident in seen:
            out.append((path, f"column {ident!r} listed twice"))
        elif known is not None and ident not in known:
            out.append((path, f"unknown column {ident!r} (not in schedule.columns)"))
        seen.add(ident)
    sale = at(mature, "flash_sale")
    if isinstance(sale, dict):
        _check_day_rule(sale, "playbooks.mature.flash_sale", out, "flash sale")
    _check_segments(at(mature, "rfm", "segments"), out)


def _check_segments(segments: Any, out: list[Finding]) -> None:
    bounds = (
        ("min_recency_days", "max_recency_days"),
        ("min_orders", "max_orders"),
        ("min_amount", "max_amount"),
    )
    for path, segment in dicts(segments, "playbooks.mature.rfm.segments"):
        for low, high in bounds:
            lo, hi = segment.get(low), segment.get(high)
            numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi))
            if numbers and lo > hi:
                out.append((f"{path}.{high}", f"{high} {hi} is below {low} {lo}"))


def _window_length(window: Any, path: str, out: list[Finding]) -> int | None:
    if not isinstance(window, dict):
        return None
    start, end = window.get("start"), window.get("end")
    fixed = start is not None or end is not None
    anchored = window.get("anchor") is not None
    if window.get("weekly") is not None:
        if fixed or anchored or window.get("days_before") or window.get("days_after"):
            out.append((f"{path}.weekly", "a weekly window takes no dates, anchor or days"))
        return _weekly_length(window.get("weekly"))
    if fixed and anchored:
        out.append((path, "give either start/end dates or an anchor, not both"))
        return None
    if not fixed and not anchored:
        out.append((path, "needs start and end dates, or an anchor date"))
        return None
    if anchored:
        before, after = as_int(window.get("days_before", 0)), as_int(window.get("days_after", 0))
        return None if before is None or after is None else before + after + 1
    for field in ("days_before", "days_after"):
        if window.get(field) is not None:
            out.append((f"{path}.{field}", f"{field} applies only to an anchored window"))
    for field, value in (("start", start), ("end", end)):
        if value is None:
            out.append((f"{path}.{field}", f"a window with fixed dates needs {field}"))
    first, last = as_date(start), as_date(end)
    if first is None or last is None:
        return None
    if last < first:
        out.append((f"{path}.end", f"the campaign ends {last} before it starts {first}"))
        return None
    return (last - first).days + 1


def _weekly_length(weekly: Any) -> int | None:
    if not isinstance(weekly, dict):
        return None
    first, last = (
        WEEKDAY_NUMBERS.get(canonical_value(weekly.get(f), WEEKDAY_ALIASES) or "")
        for f in ("first_weekday", "last_weekday")
    )
    return None if first is None or last is None else (last - first) % 7 + 1


def _check_campaign(campaign: dict[str, Any], path: str, out: list[Finding]) -> None:
    length = _window_length(campaign.get("window"), f"{path}.window", out)
    kind = canonical_value(campaign.get("kind"), CAMPAIGN_KIND_ALIASES)
    needs = {"check_in": "check_in", "group_buy": "group_buy", "limited_offer": "scarcity"}
    if kind in needs and not campaign.get(needs[kind]):
        out.append((f"{path}.{needs[kind]}", f"a {kind} campaign needs {needs[kind]}"))
    for action_path, action in dicts(campaign.get("actions"), f"{path}.actions"):
        _check_day_rule(action, action_path, out, "action")
        _within(as_int(action.get("day")), length, f"{action_path}.day", out)
    check_in = campaign.get("check_in")
    if isinstance(check_in, dict):
        days, first = as_int(check_in.get("days")), as_int(check_in.get("start_day", 1))
        fits = days is None or first is None or length is None or first + days - 1 <= length
        if not fits:
            out.append(
                (
                    f"{path}.check_in.days",
                    f"a {days}-day check-in from day {first} does not fit the {length}-day window",
                )
            )
    group_buy = campaign.get("group_buy")
    if isinstance(group_buy, dict):
        ships, goal = as_int(group_buy.get("ships_at_orders")), as_int(group_buy.get("goal_orders"))
        if ships is not None and goal is not None and goal < ships:
            out.append(
                (
                    f"{path}.group_buy.goal_orders",
                    f"goal_orders {goal} is below ships_at_orders {ships}",
                )
            )
        if group_buy.get("within_hours") is not None and group_buy.get("goal_orders") is None:
            out.append((f"{path}.group_buy.within_hours", "within_hours needs goal_orders"))
    for rule_path, rule in dicts(campaign.get("scarcity"), f"{path}.scarcity"):
        _check_scarcity(rule, rule_path, length, out)
    for trigger_path, trigger in dicts(campaign.get("triggers"), f"{path}.triggers"):
        if (trigger.get("at") is None) == (trigger.get("every") is None):
            out.append((trigger_path, "a trigger needs exactly one of at (once) or every"))


def _within(day: int | None, length: int | None, path: str, out: list[Finding]) -> None:
    if day is not None and length is not None and day > length:
        out.append((path, f"day {day} is outside the campaign window ({length} days)"))


def _check_scarcity(
    rule: dict[str, Any], path: str, length: int | None, out: list[Finding]
) -> None:
    kind = canonical_value(rule.get("kind"), SCARCITY_KIND_ALIASES)
    fields = {"first_n": ("limit",), "deadline": ("day", "until")}
    if kind not in fields:
        return
    for field in fields[kind]:
        if rule.get(field) is None:
            out.append((f"{path}.{field}", f"a {kind} rule needs {field}"))
    other = "deadline" if kind == "first_n" else "first_n"
    for field in fields[other]:
        if rule.get(field) is not None:
            out.append((f"{path}.{field}", f"{field} applies only to {other} rules"))
    if kind == "deadline":
        _within(as_int(rule.get("day")), length, f"{path}.day", out)
    each, limit = as_int(rule.get("per_member_limit")), as_int(rule.get("limit"))
    if kind == "first_n" and each is not None and limit is not None and each > limit:
        out.append(
            (
                f"{path}.per_member_limit",
                f"per_member_limit {each} is above the offer's limit {limit}",
            )
        )
