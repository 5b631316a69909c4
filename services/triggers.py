"""Threshold triggers, live: count the campaign's events per group, ask the engine what fires.

Counts come from the event store: the group's events of the trigger's kind (orders by
default) on the days of the campaign run that contains today (local days of the store),
attributed to the SOP (the campaign's own, or the group's registry SOP, or none given) and to
the campaign by their `message`: its slot is the campaign's (`campaigns.<id>`, any of its
actions `campaigns.<id>.<action>`, or one of its trigger posts `triggers.<id>...`). A plain
order of the group (no message, or another SOP's post) never counts toward a campaign:
`sop events push --campaign ID` and an import's `message` column say which campaign it was.
What already fired comes from the ledger: a slot key whose row is taken (sending, sent,
done, awaiting, unknown) or skipped never fires again, whatever the version. Sending goes
through the same dispatch and ledger as every post (`services.playbooks`): the on-join loop
(`welcome` flow) adds these actions to what it sends, and `sop events push` fires them at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

import duckdb
from sqlmodel import col, select

from engine import groups as group_registry
from engine.ledger import SKIPPED, TAKEN, Delivery
from engine.triggers import Watch, due, fired_actions, fired_key, watches
from services.event_imports import event_store
from services.planning import Refs, load_layers, overlay_refs
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from sop_models.actions import PlannedAction
from sop_models.errors import DataFileError, SopflowError, VersionNotFound, one_line
from versions.store import VersionInfo

Counts = dict[tuple[str, str, str], int]

# The campaign an event belongs to, from its message (a key `sop:version:slot:date` or a bare
# slot): `campaigns.<id>` for `campaigns.<id>[.<action>...]`, `triggers.<id>` for a trigger's
# post; anything else (a plain order, an order without a message) belongs to no campaign.
CAMPAIGN_SLOT = """array_to_string(list_slice(string_split(
    CASE WHEN message LIKE '%:%' THEN split_part(message, ':', 3) ELSE message END, '.'), 1, 2),
    '.')"""


@dataclass
class Fired:
    """Trigger posts due now, warnings, and the SOPs whose triggers failed (sop, groups, error):
    one SOP's failure never stops the others, nor the welcomes of the same run."""

    actions: list[PlannedAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)


def trigger_actions(
    ws: Workspace,
    *,
    now: datetime,
    group_ids: Sequence[str] | None = None,
    sop_id: str | None = None,
) -> Fired:
    """The trigger posts due at `now` for the registered groups (of `sop_id`, or `group_ids`)."""
    day = now.astimezone(ws.settings.zone).date()
    with ws.session() as session:
        groups = group_registry.list_groups(session, sop_id=sop_id)
    if group_ids is not None:
        groups = [g for g in groups if g.id in set(group_ids)]
    result = Fired()
    for load, members in _layers(ws, groups, day, result.warnings):
        ids = tuple(g.id for g in members)
        try:
            for doc, version in load():
                running = watches(doc, day)
                if not running:
                    continue
                counts = _counts(ws, doc.id, running, members)
                fired = _fired(ws, doc.id, running, members, counts)
                result.actions += fired_actions(
                    doc=doc, version=version, groups=members, counts=counts, day=day, now=now,
                    fired=fired,
                )  # fmt: skip
        except SopflowError as err:
            result.failures.append((members[0].sop_id, ids, one_line(err)))
        except Exception as err:  # a broken event file or document stops only its SOP
            result.failures.append((members[0].sop_id, ids, f"{type(err).__name__}: {err}"))
    return result


Loader = Callable[[], list[tuple[SopDocument, str]]]
Layered = list[tuple[Loader, list[group_registry.Group]]]


def _layers(
    ws: Workspace, groups: Sequence[group_registry.Group], day: date, warnings: list[str]
) -> Layered:
    """Per (SOP, alias, overlay arms): a loader of the SOP at the alias now plus the overlays
    attached over `day`, at the version each group follows (loaded by the caller, so a
    document that no longer parses fails in its isolation)."""
    by_ref: dict[tuple[str, str], list[group_registry.Group]] = defaultdict(list)
    for group in groups:
        by_ref[(group.sop_id, group.alias)].append(group)
    found: Layered = []
    for (sop_id, alias), members in sorted(by_ref.items()):
        try:
            info = ws.store.resolve(sop_id, alias)
        except VersionNotFound as err:
            warnings.append(f"{len(members)} group(s) without triggers: {err}")
            continue
        for refs, part in overlay_refs(ws, base=sop_id, groups=members):
            found.append((partial(_load, ws, info, refs, day), part))
    return found


def _load(ws: Workspace, info: VersionInfo, refs: Refs, day: date) -> list[tuple[SopDocument, str]]:
    docs = [(parse_document(ws.store.content(info), info.tag), str(info.version))]
    for layer in load_layers(ws, refs):
        if (layer.start is None or layer.start <= day) and (layer.end is None or day <= layer.end):
            docs.append((layer.doc, layer.version))
    return docs


def _counts(
    ws: Workspace, sop_id: str, running: list[Watch], groups: Sequence[group_registry.Group]
) -> Counts:
    """(campaign, event, group) -> events in the campaign run, one query per run."""
    counts: Counts = {}
    store = event_store(ws)
    # an overlay's events carry the group's base SOP (filled from the registry at import)
    sops = sorted({sop_id, *(g.sop_id for g in groups)})
    con = duckdb.connect()
    try:
        for watch in running:
            rows = con.execute(
                f"""SELECT "group", count(*) FROM {store.source_sql()}
                    WHERE event = $event AND day BETWEEN $first AND $last
                      AND list_contains($groups, "group")
                      AND (sop IS NULL OR list_contains($sops, sop))
                      AND {CAMPAIGN_SLOT} IN ($campaign, $trigger)
                    GROUP BY "group" """,
                {
                    "event": watch.event, "first": watch.first, "last": watch.last,
                    "groups": [g.id for g in groups], "sops": sops,
                    "campaign": f"campaigns.{watch.campaign.id}",
                    "trigger": f"triggers.{watch.campaign.id}",
                },
            ).fetchall()  # fmt: skip
            for group_id, n in rows:
                counts[(watch.campaign.id, watch.event, group_id)] = int(n)
    finally:
        con.close()
    return counts


def _fired(
    ws: Workspace,
    sop_id: str,
    running: list[Watch],
    groups: Sequence[group_registry.Group],
    counts: Counts,
) -> set[str]:
    """The keys of due thresholds that the ledger holds as taken or skipped."""
    wanted: list[str] = []
    for watch in running:
        for trigger in (t for t in watch.campaign.triggers if t.event == watch.event):
            for group in groups:
                threshold = due(trigger, counts.get((watch.campaign.id, watch.event, group.id), 0))
                if threshold is not None:
                    wanted.append(fired_key(sop_id, group.id, watch, trigger, threshold))
    found: set[str] = set()
    with ws.session() as session:
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            rows = session.exec(
                select(Delivery.slot_key)
                .where(col(Delivery.slot_key).in_(part))
                .where(col(Delivery.status).in_([*TAKEN, SKIPPED]))
            ).all()
            found.update(rows)
    return found


def campaign_owner(ws: Workspace, *, group_id: str, campaign: str, now: datetime) -> str:
    """The SOP (the group's own at its alias, or an overlay attached to it on `now`'s day) that
    runs `campaign`; an unknown id is a one-line error naming the campaigns there are."""
    day = now.astimezone(ws.settings.zone).date()
    with ws.session() as session:
        group = group_registry.get_group(session, group_id)
    info = ws.store.resolve(group.sop_id, group.alias)
    ((refs, _),) = overlay_refs(ws, base=group.sop_id, groups=[group])
    docs = [doc for doc, _ in _load(ws, info, refs, day)]
    owners = [doc.id for doc in docs if any(c.id == campaign for c in doc.playbooks.campaigns)]
    if not owners:
        known = sorted({c.id for doc in docs for c in doc.playbooks.campaigns}) or ["none"]
        raise DataFileError(
            f"--campaign: {campaign!r} is no campaign of {group_id}'s SOPs on {day}"
            f" (campaigns: {', '.join(known)})"
        )
    return owners[-1]  # an overlay's campaign before the base's of the same id
