"""Layers: a group's base SOP plus overlay SOPs (campaigns) laid over it for a window.

Each layer is planned on its own (its actions keep their own SOP id and version, so their
keys never meet and the ledger cannot double-send across layers); then posts of different
layers that land within the base SOP's spacing gap collide, and the layer with the higher
`priority` wins (a slot's own priority breaks ties inside a layer) the way the overlay's
`schedule.spacing.on_collision` says (drop or shift; the base's when every overlay only
warns). Layers are planned base first: a rotation with `skip_recent_days` passes over the
items the layers before it post. The WeCom monthly mass-message cap counts every layer's
messages together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from engine.calendar import LIBRARY_ONLY, WorkdayCalendar
from engine.planner.core import GroupLike, JoinLike, Plan, plan
from engine.planner.spacing import POSTS, apply_spacing
from engine.quota import CapRule, quota_warnings
from sop_models import SopDocument

LAYER_WEIGHT = 1000  # a layer's priority outranks any slot priority (-100..100)


@dataclass(frozen=True)
class Layer:
    """One SOP version laid over the groups from `start` to `end` (None: unbounded)."""

    doc: SopDocument
    version: str
    priority: int = 0
    start: date | None = None
    end: date | None = None


def plan_layers(
    *,
    base: Layer,
    overlays: Sequence[Layer],
    groups: Sequence[GroupLike],
    start: date,
    end: date,
    joins: Sequence[JoinLike] = (),
    kinds: set[str] | None = None,
    calendar: WorkdayCalendar = LIBRARY_ONLY,
    cap_rule: CapRule = "month",
) -> Plan:
    """The base plan plus every overlay's plan inside its window, collisions resolved."""
    # every post takes its place in the spacing, whichever kinds the caller wants (a mature_day
    # run must drop the column an overlay's campaign wins over, as `sop plan` shows)
    wanted = None if kinds is None else set(kinds)
    build = wanted | POSTS if wanted is not None and wanted & POSTS else wanted
    actions, warnings, priorities = [], [], {}
    own_quota: set[str] = set()
    used: defaultdict[date, set[str]] = defaultdict(set)  # content of the layers planned so far
    for layer in (base, *overlays):
        first = max(start, layer.start) if layer.start else start
        last = min(end, layer.end) if layer.end else end
        if last < first:
            continue
        part = plan(
            doc=layer.doc,
            version=layer.version,
            groups=groups,
            start=first,
            end=last,
            joins=joins if layer is base else (),  # welcomes come from the base SOP only
            kinds=build,
            calendar=calendar,
            cap_rule=cap_rule,
            recent_content=used,
        )
        for action in part.actions:
            if action.content_tag is not None:
                used[action.at.date()].add(action.content_tag)
        actions += part.actions
        own_quota |= set(quota_warnings(part.actions, rule=cap_rule))
        warnings += [w for w in part.warnings if w not in warnings]
        for action in part.actions:
            priorities[action.key] = layer.priority * LAYER_WEIGHT + part.priorities.get(
                action.key, 0
            )
    spacing = base.doc.schedule.spacing
    declared = [o.doc.schedule.spacing for o in overlays]
    resolve = next(
        (s.on_collision for s in declared if s.declared_collision() not in (None, "warn")),
        spacing.on_collision,
    )
    spacing = spacing.model_copy(update={"on_collision": resolve})
    spaced, collisions = apply_spacing(actions, priorities, spacing, base.doc.schedule.quiet_hours)
    spaced = [a for a in spaced if wanted is None or a.kind in wanted]
    crossing = [w for w in collisions if w not in warnings]
    spaced.sort(key=lambda a: (a.at.timestamp(), a.group_id, a.slot, a.member_id or ""))
    warnings = (
        [w for w in warnings if w not in own_quota]
        + crossing
        + quota_warnings(spaced, rule=cap_rule)
    )
    return Plan(actions=spaced, warnings=warnings, priorities=priorities)
