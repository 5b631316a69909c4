"""The day's hand work built from the plan: what people post, what operators do, what to check.

No run is needed: every SOP's groups are planned for the day (each group on its own alias),
and the delivery ledger is laid over the plan for what is already done. An item is one of

    post      a message a person pastes into a customer group (the group's channel is
              `tasklist`): post name, group name, owner, the exact text
    internal  an operator task (RFM segmentation lists, reviews): never pasted into a group
    check     a ledger row a person must look at (a mass send to confirm, an unclear fate, a
              failure with no retries left)

and everything else is sent by machines (counted, not listed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, tzinfo

from sqlmodel import Session, col, select

from engine import ledger
from engine.groups import Group, list_groups
from engine.ledger import Delivery
from engine.planner import OPERATOR_CHANNEL
from services.checklist import CHECKLIST_COLUMNS, checklist_rows, todo_for
from services.planning import plan_window
from services.rfm_lists import with_segment_counts
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from sop_models.actions import PlannedAction, is_internal
from sop_models.i18n import tr
from versions import services as versions

HAND_CHANNEL = OPERATOR_CHANNEL
"""A group on this channel gets its posts by hand."""
POST, INTERNAL, CHECK = "post", "internal", "check"
OPEN = "open"  # planned, not run yet


@dataclass(frozen=True)
class DayItem:
    """One piece of hand work on a day (see the module docstring for `section`)."""

    section: str
    at: datetime
    post: str
    sop_id: str
    version: str
    group_id: str
    group_name: str
    owner: str
    channel: str
    kind: str
    slot: str
    member: str
    text: str
    key: str
    short_key: str
    status: str
    todo: str

    @property
    def finished(self) -> bool:
        """Posted, sent or done: nothing left for a person."""
        return self.status in (ledger.SENT, ledger.DONE)

    def as_dict(self, zone: tzinfo) -> dict[str, str]:
        """Plain strings, the time local to `zone` with its offset."""
        data = {k: str(v) for k, v in asdict(self).items() if k != "at"}
        return {"at": self.at.astimezone(zone).isoformat(), **data}


@dataclass
class DayView:
    """A day's hand work, each list by time, and how many actions machines send."""

    day: date
    posts: list[DayItem] = field(default_factory=list)
    internal: list[DayItem] = field(default_factory=list)
    checks: list[DayItem] = field(default_factory=list)
    automatic: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[DayItem]:
        """Posts, then internal tasks, then rows to check."""
        return [*self.posts, *self.internal, *self.checks]


def short_key(group_id: str, slot: str, key_day: str, member: str | None) -> str:
    """`group:slot:date[:member]`: what a person can type to name one post."""
    return f"{group_id}:{slot}:{key_day}" + (f":{member}" if member else "")


def post_name(doc: SopDocument, slot: str) -> str:
    """The name people know a slot by (the column's or campaign's name), else the slot id."""
    part, _, rest = slot.partition(".")
    named = {c.id: c.name for c in doc.schedule.columns} if part == "columns" else {}
    if part == "calendar":
        named = {c.id: c.name for c in doc.schedule.calendar_columns}
    if part == "cold_start":
        cold = doc.playbooks.cold_start
        named = {
            a.id: a.name or tr("cold start day {day}").format(day=a.day)
            for a in (cold.actions if cold else ())
        }
    if part == "on_join":
        named = {a.id: tr("welcome {id}").format(id=a.id) for a in doc.schedule.on_join}
    if part == "flash_sale":
        return (
            tr("weekly flash sale countdown")
            if rest.endswith(".countdown")
            else tr("weekly flash sale")
        )
    if part == "rfm":
        return tr("month-end RFM segmentation")
    if part == "campaigns":
        campaign_id, _, action_id = rest.partition(".")
        for campaign in doc.playbooks.campaigns:
            if campaign.id == campaign_id:
                acts = {a.id: a.name or a.id for a in campaign.actions} | {
                    "check_in": tr("check-in")
                }
                return f"{campaign.name} · {acts.get(action_id, action_id)}"
    return named.get(rest) or slot


def day_actions(
    ws: Workspace, day: date, group_ids: Collection[str] | None = None
) -> tuple[list[tuple[PlannedAction, SopDocument]], list[str]]:
    """Every SOP's actions on `day` for its groups (each on its own alias), with documents;
    only those of `group_ids` when given."""
    found: list[tuple[PlannedAction, SopDocument]] = []
    warnings: list[str] = []
    docs: dict[tuple[str, str], SopDocument] = {}
    with ws.session() as session:
        groups = list_groups(session)
    if group_ids is not None:
        groups = [g for g in groups if g.id in group_ids]
    for sop_id in sorted({g.sop_id for g in groups}):
        if not ws.store.latest(sop_id):
            warnings.append(
                tr("groups follow SOP {sop!r}, which has no saved version").format(sop=sop_id)
            )
            continue
        aliases = ws.store.aliases(sop_id)
        ids = [g.id for g in groups if g.sop_id == sop_id and g.alias in aliases]
        if not ids:
            continue
        plan = plan_window(ws, sop_id=sop_id, ref=None, start=day, end=day, group_ids=ids)
        warnings += plan.warnings
        for action in plan.actions:
            # an overlay's action names the overlay and its version, not the base's
            source = (action.sop_id, action.version)
            doc = docs.get(source)
            if doc is None:
                info = versions.resolve(ws.store, *source)
                doc = docs[source] = parse_document(ws.store.content(info), info.tag)
            found.append((action, doc))
    return found, warnings


def build_day(
    ws: Workspace,
    *,
    day: date,
    owner: str | None = None,
    group_ids: Collection[str] | None = None,
) -> DayView:
    """The day's hand work across every SOP (optionally one owner's groups, or only the
    groups of `group_ids`: only those are planned)."""
    actions, warnings = day_actions(ws, day, group_ids)
    view = DayView(day, warnings=warnings)
    zone = ws.settings.zone
    with ws.session() as session:
        groups = {g.id: g for g in list_groups(session)}
        seen = _planned_items(session, view, actions, groups)
        for row in checklist_rows(session, day=day, zone=zone, tasks_dir=ws.root / "tasks"):
            if row["key"] in seen or (group_ids is not None and row["group"] not in group_ids):
                continue
            view_item = _ledger_item(row, session, groups)
            if view_item is not None:
                _file(view, view_item)
    for items in (view.posts, view.internal, view.checks):
        items.sort(key=lambda i: (i.at, i.group_id, i.slot, i.member))
    view.internal, notes = with_segment_counts(ws, view.internal, day)  # RFM lists, counted
    view.warnings += notes
    if owner is not None:
        for name in ("posts", "internal", "checks"):
            setattr(view, name, [i for i in getattr(view, name) if i.owner == owner])
    return view


def _file(view: DayView, item: DayItem) -> None:
    {POST: view.posts, INTERNAL: view.internal, CHECK: view.checks}[item.section].append(item)


def _planned_items(
    session: Session,
    view: DayView,
    actions: Sequence[tuple[PlannedAction, SopDocument]],
    groups: dict[str, Group],
) -> set[str]:
    """File the planned hand work in `view`; the ledger keys (and slot keys) it covers."""
    state = ledger.read_ledger(session, [a for a, _ in actions])
    rows = ledger.get_deliveries(session, [a.key for a, _ in actions])
    covered: set[str] = set()
    for action, doc in actions:
        row = rows.get(action.key)
        if is_internal(action.kind):
            section, todo = INTERNAL, tr("internal: not for the group")
        elif action.channel == HAND_CHANNEL:
            section, todo = POST, tr("post by hand")
        elif row is not None and (needed := todo_for(row)) is not None:
            section, todo = CHECK, needed  # a machine's send that needs a person now
        else:
            view.automatic += 1
            continue
        covered.update((action.key, ledger.slot_key(action)))
        known = state.states.get(action.key)
        status = known.status if known else OPEN
        if action.key in state.posted_elsewhere:
            status = ledger.DONE
        group = groups.get(action.group_id)
        view_item = DayItem(
            section=section,
            at=action.at,
            post=post_name(doc, action.slot),
            sop_id=action.sop_id,
            version=action.version,
            group_id=action.group_id,
            group_name=group.name if group else "",
            owner=group.owner if group else "",
            channel=action.channel,
            kind=action.kind,
            slot=action.slot,
            member=action.member_id or "",
            text=action.text,
            key=action.key,
            short_key=short_key(
                action.group_id, action.slot, action.key.split(":")[4], action.member_id
            ),
            status=status,
            todo=todo if row is None or row.done_by is None else f"{todo} ({row.done_by})",
        )
        _file(view, view_item)
    # ledger rows under another version's key for the same slots are covered too
    for row in _rows_by_slot(session, covered):
        covered.add(row.key)
    return covered


def _rows_by_slot(session: Session, slot_keys: set[str]) -> list[Delivery]:
    found: list[Delivery] = []
    keys = sorted(slot_keys)
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        found += session.exec(select(Delivery).where(col(Delivery.slot_key).in_(part))).all()
    return found


def _ledger_item(row: dict[str, str], session: Session, groups: dict[str, Group]) -> DayItem | None:
    """A ledger row needing a person that the plan did not give (no SOP saved, another day)."""
    found = ledger.get_deliveries(session, [row["key"]]).get(row["key"])
    if found is None:
        return None
    if is_internal(found.kind):
        section = INTERNAL
    elif found.channel == HAND_CHANNEL:
        section = POST
    else:
        section = CHECK
    group = groups.get(found.group_id)
    parts = found.key.split(":")  # a planner key: sop:version:group:slot:date[:member]
    planner_key = len(parts) in (5, 6) and parts[2] == found.group_id
    short = ":".join(parts[2:]) if planner_key else found.key
    return DayItem(
        section=section,
        at=found.due_at,
        post=found.slot,
        sop_id=found.sop_id,
        version=found.version,
        group_id=found.group_id,
        group_name=group.name if group else "",
        owner=group.owner if group else "",
        channel=found.channel,
        kind=found.kind,
        slot=found.slot,
        member=found.member_id or "",
        text=row["text"],
        key=found.key,
        short_key=short,
        status=found.status,
        todo=row["todo"],
    )


def checklist(ws: Workspace, *, day: date, owner: str | None = None) -> list[dict[str, str]]:
    """The day's open hand work as checklist rows (`services.checklist.CHECKLIST_COLUMNS`)."""
    zone = ws.settings.zone
    view = build_day(ws, day=day, owner=owner)
    return [item_row(i, zone) for i in view.items if not i.finished]


def item_row(item: DayItem, zone: tzinfo) -> dict[str, str]:
    """One item as a checklist row (done/done_by left for the person)."""
    return {
        **dict.fromkeys(CHECKLIST_COLUMNS, ""),
        "time": item.at.astimezone(zone).strftime("%H:%M"),
        **{"section": item.section, "post": item.post, "group": item.group_id},
        **{"group_name": item.group_name, "owner": item.owner, "channel": item.channel},
        **{"todo": item.todo, "kind": item.kind, "slot": item.slot, "member": item.member},
        **{"status": item.status, "text": item.text, "key": item.key},
        "short_key": item.short_key,
    }
