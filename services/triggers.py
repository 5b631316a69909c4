"""Threshold triggers, live: count the campaign's events per group, ask the engine what fires.

Counts come from the event store: the group's events of the trigger's kind (orders by
default) on the days of the campaign run that contains today (local days of the store),
attributed to the SOP (the campaign's own, or the group's registry SOP, or none given).
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
from services.planning import overlay_layers
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from sop_models.actions import PlannedAction
from sop_models.errors import SopflowError, VersionNotFound, one_line
from versions.store import VersionInfo

Counts = dict[tuple[str, str, str], int]


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
    """Per (SOP, alias): a loader of the SOP at the alias now plus the overlays attached over
    `day` (loaded by the caller, so a document that no longer parses fails in its isolation)."""
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
        found.append((partial(_load, ws, info, day), members))
    return found


def _load(ws: Workspace, info: VersionInfo, day: date) -> list[tuple[SopDocument, str]]:
    docs = [(parse_document(ws.store.content(info), info.tag), str(info.version))]
    for layer in overlay_layers(ws, base=info.sop_id):
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
                    GROUP BY "group" """,
                {
                    "event": watch.event, "first": watch.first, "last": watch.last,
                    "groups": [g.id for g in groups], "sops": sops,
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
