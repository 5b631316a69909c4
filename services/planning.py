"""Planning service: what an SOP would send to its groups in a date window (sends nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from engine.groups import Group, GroupRegistryError, get_group, list_groups
from engine.members import joins_between
from engine.planner import Layer, Plan, join_window, plan_layers
from services.calendar import workspace_calendar
from services.overlays import Attachment, arms, attachments
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from versions import services

ALIASES = ("production", "candidate")


def _groups(ws: Workspace, sop_id: str, wanted: Sequence[str]) -> list[Group]:
    with ws.session() as session:
        if not wanted:
            return list_groups(session, sop_id=sop_id)
        found = [get_group(session, gid) for gid in dict.fromkeys(wanted)]
    others = [f"{g.id} follows {g.sop_id}" for g in found if g.sop_id != sop_id]
    if others:
        raise GroupRegistryError(f"not groups of {sop_id}: {'; '.join(others)}")
    return found


def plan_window(
    ws: Workspace,
    *,
    sop_id: str,
    ref: str | None,
    start: date,
    end: date,
    group_ids: Sequence[str],
    overlays: Sequence[tuple[str, str]] = (),
) -> Plan:
    """Plan `sop_id` for its groups: version `ref`, or each group's own alias when None; the
    overlays attached to it (`sop overlay attach`; each group at its own arm of an overlay under
    experiment) and `overlays` ((sop, ref) pairs, for a preview) are laid over it at their
    declared `overlay.priority`."""
    groups = _groups(ws, sop_id, group_ids)
    if not groups:
        services.resolve(ws.store, sop_id, ref or "latest")  # an unknown SOP is an error
        return Plan(warnings=[f"no groups follow {sop_id}: add some with `sop groups add`"])
    by_ref: dict[str, list[Group]] = {}
    for group in groups:
        by_ref.setdefault(ref or group.alias, []).append(group)
    docs: dict[str, tuple[str, SopDocument]] = {}
    for name in by_ref:
        info = services.resolve(ws.store, sop_id, name)
        docs[name] = (str(info.version), parse_document(ws.store.content(info), info.tag))
    low, high = join_window([doc for _, doc in docs.values()], start, end)
    with ws.session() as session:
        joins = joins_between(session, low, high, [g.id for g in groups])
    calendar = workspace_calendar(ws)
    extra = [_layer(ws, overlay, ref) for overlay, ref in overlays]
    result = Plan()
    for name, members in by_ref.items():
        version, doc = docs[name]
        for layers, part in overlays_by_group(ws, base=sop_id, groups=members):
            ids = {g.id for g in part}
            planned = plan_layers(
                base=Layer(doc, version),
                overlays=[*layers, *extra],
                groups=part,
                start=start,
                end=end,
                joins=[j for j in joins if j.group_id in ids],
                calendar=calendar,
                cap_rule=ws.settings.wecom_mass_cap,
            )
            result.actions += planned.actions
            result.warnings += [w for w in planned.warnings if w not in result.warnings]
    result.actions.sort(key=lambda a: (a.at, a.group_id, a.slot, a.member_id or ""))
    return result


def overlay_layers(ws: Workspace, *, base: str) -> list[Layer]:
    """The overlays attached to `base` (`sop overlay attach`), each at its attachment's ref."""
    return [_layer(ws, a.overlay, a.ref, a.start, a.end) for a in attachments(ws, base=base)]


Refs = tuple[tuple[Attachment, str], ...]


def overlay_refs(
    ws: Workspace, *, base: str, groups: Sequence[Group]
) -> list[tuple[Refs, list[Group]]]:
    """`groups` (of `base`) split by the version of each attached overlay they follow: an
    attachment at an alias is followed at the group's own arm of that overlay when an
    experiment on the overlay put it on one (`sop experiment OVERLAY`), else at its ref.
    Reads the database only; `load_layers` reads the documents."""
    found = attachments(ws, base=base)
    # a group's arm counts while the attachment follows an alias and the arm's alias still
    # exists (a finished experiment's candidate is gone: its groups follow the attachment)
    arm_of = {
        a.overlay: {g: alias for g, alias in arms(ws, overlay=a.overlay).items() if alias in live}
        for a in found
        if a.ref in ALIASES and (live := set(ws.store.aliases(a.overlay)))
    }
    parts: dict[Refs, list[Group]] = {}
    for group in groups:
        refs = tuple((a, arm_of.get(a.overlay, {}).get(group.id, a.ref)) for a in found)
        parts.setdefault(refs, []).append(group)
    return list(parts.items())


def load_layers(ws: Workspace, refs: Refs) -> list[Layer]:
    """The overlay layers `refs` name, each at its version and window."""
    return [_layer(ws, a.overlay, ref, a.start, a.end) for a, ref in refs]


def overlays_by_group(
    ws: Workspace, *, base: str, groups: Sequence[Group]
) -> list[tuple[list[Layer], list[Group]]]:
    """`groups` of `base` split by the overlay layers they follow (see `overlay_refs`)."""
    return [
        (load_layers(ws, refs), part) for refs, part in overlay_refs(ws, base=base, groups=groups)
    ]


def _layer(
    ws: Workspace, sop_id: str, ref: str, start: date | None = None, end: date | None = None
) -> Layer:
    info = services.resolve(ws.store, sop_id, ref)
    doc = parse_document(ws.store.content(info), info.tag)
    priority = doc.overlay.priority if doc.overlay is not None else 0
    return Layer(doc, str(info.version), priority=priority, start=start, end=end)


def production_documents(ws: Workspace) -> list[SopDocument]:
    """The production version of every SOP that has one (what the schedules serve)."""
    docs = []
    for sop_id in ws.store.sop_ids():
        if "production" in ws.store.aliases(sop_id):
            info = ws.store.resolve(sop_id, "production")
            docs.append(parse_document(ws.store.content(info), info.tag))
    return docs
