"""Which template variables the planner supplies, by kind of action.

Every action gets the document's own variables (sop_title, welcome_warmth/value/rules,
announcement, self_intro_template), `group_name` and `date` (the send date, YYYY-MM-DD).
With a content_tag: `content_title`, and `content_body` when the item has a body. Beyond
that, by kind:

    on-join action      member_name
    column              days_left (0, or the lead day a countdown posts before its date)
    cold-start action   day (1 = the group's start day), days_left (as a column's)
    sign-in prompt      day, streak_days, reward (the cold start's hook, days 1..streak_days)
    calendar column     days_left (= lead_days), calendar_date
    flash sale          sale_time, duration_minutes, coupon_name (with a coupon);
                        the countdown also minutes_left
    RFM task            lookback_days, segment_names, month (YYYY-MM)
    campaign action     day (campaign day), days_left (to the anchor, or to the last day of
                        a fixed window), campaign_name, offers (every scarcity offer),
                        coupon_name, first_n_offer/first_n_limit, deadline_offer/deadline
                        ("YYYY-MM-DD HH:MM"), per_member_limit (the first rule's
                        每人限购), product/ships_at_orders/goal_orders/
                        within_hours (group buy), check_in_days/check_in_reward (check-in)
    check-in prompt     as a campaign action, but `day` is the check-in day (1 = first)
    threshold trigger   the campaign's variables (not days_left/deadline) + count (the live
                        count), threshold (the one reached), day (campaign day)
    RFM segment message member_name, segment_name (sent by whoever messages a segment)

`template_uses` lists every place a template is used with the names supplied there, so
`engine.template_checks.check_templates` can refuse a template that would fail at send time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sop_models import Campaign, Column, FlashSale, RfmTask, SopDocument
from sop_models.campaigns import CampaignAction
from sop_models.checks_content import rotation_items

Variables = dict[str, object]

DYNAMIC = frozenset({"group_name", "date"})
"""Supplied for every action, different per group or per day."""
TRIGGER_VARIABLES = frozenset({"count", "threshold", "day"})
"""A threshold trigger's own: the live count, the threshold reached, the campaign day."""


def content_variables(doc: SopDocument, tag: str | None) -> Variables:
    """content_title (and content_body when the item has one) of the action's content item."""
    if tag is None:
        return {}
    item = doc.content_item(tag)
    found: Variables = {"content_title": item.title}
    if item.body is not None:
        found["content_body"] = item.body
    return found


def flash_sale_variables(sale: FlashSale) -> Variables:
    """The flash sale's time, duration and coupon."""
    found: Variables = {"sale_time": sale.time, "duration_minutes": sale.duration_minutes}
    if sale.coupon is not None:
        found["coupon_name"] = sale.coupon.name
    return found


def rfm_variables(task: RfmTask) -> Variables:
    """The RFM task's lookback and segment names (month is added per date)."""
    return {
        "lookback_days": task.lookback_days,
        "segment_names": tuple(segment.name for segment in task.segments),
    }


def campaign_variables(campaign: Campaign) -> Variables:
    """The campaign's mechanics that do not depend on the date (day/days_left/deadline do)."""
    found: Variables = {
        "campaign_name": campaign.name,
        "offers": tuple(rule.offer for rule in campaign.scarcity),
    }
    if campaign.coupon is not None:
        found["coupon_name"] = campaign.coupon.name
    for rule in campaign.scarcity:
        if rule.kind == "first_n" and "first_n_offer" not in found:
            found.update(first_n_offer=rule.offer, first_n_limit=rule.limit)
        if rule.kind == "deadline" and "deadline_offer" not in found:
            found["deadline_offer"] = rule.offer
        if rule.per_member_limit is not None and "per_member_limit" not in found:
            found["per_member_limit"] = rule.per_member_limit
    if campaign.group_buy is not None:
        buy = campaign.group_buy
        found.update(product=buy.product, ships_at_orders=buy.ships_at_orders)
        if buy.goal_orders is not None:
            found["goal_orders"] = buy.goal_orders
        if buy.within_hours is not None:
            found["within_hours"] = buy.within_hours
    if campaign.check_in is not None:
        found.update(check_in_days=campaign.check_in.days, check_in_reward=campaign.check_in.reward)
    return found


def has_deadline(campaign: Campaign) -> bool:
    """True when a deadline rule gives the campaign a `deadline` variable."""
    return any(rule.kind == "deadline" for rule in campaign.scarcity)


@dataclass(frozen=True)
class TemplateUse:
    """One place a template is used: its path, the names supplied there, and what it is."""

    path: str
    template: str
    supplied: frozenset[str]
    where: str
    content_tag: str | None = None


def _base(doc: SopDocument, tag: str | None) -> set[str]:
    names = set(doc.document_variables()) | DYNAMIC
    try:
        return names | set(content_variables(doc, tag))
    except KeyError:
        return names  # an unknown tag is reported by the document checks


def _planned_content(doc: SopDocument, column: Column | CampaignAction) -> set[str]:
    """Content variables every item of a column's (or campaign action's) content calendar
    supplies."""
    plan = column.content
    if plan is None:
        return set()
    tags = [entry.tag for entry in plan.schedule]
    if plan.rotate is not None:
        rotate = plan.rotate.model_dump(exclude_none=True)
        tags += rotation_items(rotate, [item.tag for item in doc.content_library])
    tags += [column.content_tag] if column.content_tag else []
    try:
        supplied = [set(content_variables(doc, tag)) for tag in tags]
    except KeyError:
        return set()  # an unknown tag is reported by the document checks
    return set.intersection(*supplied) if supplied else set()


def template_uses(doc: SopDocument) -> list[TemplateUse]:
    """Every template reference of `doc` with the variables the planner supplies there."""
    uses: list[TemplateUse] = []

    def add(path: str, template: str, tag: str | None, extra: set[str], where: str) -> None:
        supplied = frozenset(_base(doc, tag) | extra)
        uses.append(TemplateUse(f"{path}.template", template, supplied, where, tag))

    schedule, books = doc.schedule, doc.playbooks
    for i, join in enumerate(schedule.on_join):
        add(
            f"schedule.on_join[{i}]",
            join.template,
            join.content_tag,
            {"member_name"},
            "an on-join action",
        )
    for i, column in enumerate(schedule.columns):
        names = {"days_left"} | _planned_content(doc, column)
        tag = column.content_tag if column.content is None else None  # planned: any item
        add(f"schedule.columns[{i}]", column.template, tag, names, "a column")
    for i, cal in enumerate(schedule.calendar_columns):
        names = {"days_left", "calendar_date"}
        add(
            f"schedule.calendar_columns[{i}]",
            cal.template,
            cal.content_tag,
            names,
            "a calendar column",
        )
    if books.cold_start is not None:
        for i, act in enumerate(books.cold_start.actions):
            path = f"playbooks.cold_start.actions[{i}]"
            add(path, act.template, act.content_tag, {"day", "days_left"}, "a cold-start action")
        hook = books.cold_start.hook
        if hook is not None and hook.template is not None:
            names = {"day", "streak_days", "reward"}
            add("playbooks.cold_start.hook", hook.template, None, names, "the sign-in prompt")
    mature = books.mature
    if mature is not None and mature.flash_sale is not None:
        sale, path = mature.flash_sale, "playbooks.mature.flash_sale"
        names = set(flash_sale_variables(sale)) | {"days_left"}
        add(path, sale.template, sale.content_tag, names, "the flash sale")
        if sale.countdown is not None:
            down = sale.countdown
            add(
                f"{path}.countdown",
                down.template,
                down.content_tag,
                names | {"minutes_left"},
                "the countdown",
            )
    if mature is not None and mature.rfm is not None:
        rfm, path = mature.rfm, "playbooks.mature.rfm"
        add(path, rfm.template, None, set(rfm_variables(rfm)) | {"month"}, "the RFM task")
        for i, segment in enumerate(rfm.segments):
            if segment.template is not None:
                names = {"member_name", "segment_name"}
                add(f"{path}.segments[{i}]", segment.template, None, names, "a segment message")
    for c, campaign in enumerate(books.campaigns):
        path = f"playbooks.campaigns[{c}]"
        names = set(campaign_variables(campaign)) | {"day", "days_left"}
        names |= {"deadline"} if has_deadline(campaign) else set()
        for i, act in enumerate(campaign.actions):
            tag = act.content_tag if act.content is None else None  # planned: any item
            planned = names | _planned_content(doc, act)
            add(f"{path}.actions[{i}]", act.template, tag, planned, "a campaign action")
        if campaign.check_in is not None:
            check = campaign.check_in
            add(f"{path}.check_in", check.template, check.content_tag, names, "a check-in prompt")
        fired = set(campaign_variables(campaign)) | TRIGGER_VARIABLES
        for i, trigger in enumerate(campaign.triggers):
            where = "a threshold trigger"
            add(f"{path}.triggers[{i}]", trigger.template, trigger.content_tag, fired, where)
    return uses
