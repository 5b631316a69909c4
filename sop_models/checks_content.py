"""Cross-field checks of the content calendar (`schedule.columns[*].content` and
`playbooks.campaigns[*].actions[*].content`), on plain data."""

from __future__ import annotations

from typing import Any

from sop_models.content import CATEGORY_ALIASES, FORM_ALIASES, parse_tag
from sop_models.plain import Finding, as_date, at, dicts
from sop_models.values import canonical_value


def _tag(value: Any) -> str | None:
    try:
        return str(parse_tag(value)) if isinstance(value, str) else None
    except ValueError:
        return None  # the structural pass reports a malformed tag


def check_content(data: dict[str, Any], tags: set[str] | None) -> list[Finding]:
    """Unknown tags and repeated dates in schedules; rotations that select no item."""
    out: list[Finding] = []
    owners = list(dicts(at(data, "schedule", "columns"), "schedule.columns"))
    for c_path, campaign in dicts(at(data, "playbooks", "campaigns"), "playbooks.campaigns"):
        owners += dicts(campaign.get("actions"), f"{c_path}.actions")
    for path, column in owners:
        plan = column.get("content")
        if not isinstance(plan, dict):
            continue
        seen: dict[Any, str] = {}
        for entry_path, entry in dicts(plan.get("schedule"), f"{path}.content.schedule"):
            tag, day = _tag(entry.get("tag")), as_date(entry.get("date"))
            if tag is not None and tags is not None and tag not in tags:
                out.append(
                    (f"{entry_path}.tag", f"unknown content tag {tag!r} (not in content_library)")
                )
            if day is not None and day in seen:
                out.append((f"{entry_path}.date", f"{day} is scheduled twice (also {seen[day]})"))
            elif day is not None:
                seen[day] = entry_path
        rotate = plan.get("rotate")
        if isinstance(rotate, dict) and tags is not None and not rotation_items(rotate, tags):
            out.append((f"{path}.content.rotate", "selects no item of content_library"))
    return out


def rotation_items(rotate: dict[str, Any], tags: set[str] | list[str]) -> list[str]:
    """The library tags a rotation (plain data) selects, in the order given."""
    category = canonical_value(rotate.get("category"), CATEGORY_ALIASES)
    form = canonical_value(rotate.get("form"), FORM_ALIASES)
    topic = rotate.get("topic")
    found = []
    for tag in tags:
        parts = parse_tag(tag)
        if category is not None and parts.category != category:
            continue
        if form is not None and parts.form != form:
            continue
        if isinstance(topic, str) and parts.topic != topic.strip():
            continue
        found.append(tag)
    return found
