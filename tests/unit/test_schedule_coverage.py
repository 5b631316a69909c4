"""Every time the planner gives a post (after quiet hours and spacing) has a cron deployment of
its playbook within the lateness window, so no moved post is missed by the scheduled runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from engine.planner import Layer, plan_layers
from flows.schedules import PLAYBOOK_OF, deployment_specs, send_times
from services.settings import Settings
from sop_models import SopDocument, parse_document
from tests.support.examples import EXAMPLES, example, example_text, modified, moved_posts
from tests.support.planning import G

SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
LATENESS = timedelta(minutes=Settings.model_fields["lateness_minutes"].default)
GROUPS = [G("mature", "宝妈一群", None), G("new", "宝妈新群", date(2026, 9, 7))]


def documents() -> list[SopDocument]:
    names = [p.relative_to(EXAMPLES).with_suffix("").as_posix() for p in EXAMPLES.rglob("*.yaml")]
    moved = parse_document(modified(example_text("mombaby-refined"), moved_posts))
    return [example(name) for name in sorted(names)] + [moved]


def uncovered(docs: list[SopDocument]) -> list[str]:
    """Planned posts of a month with no cron of their playbook at or after them within the
    lateness window."""
    crons: dict[str, list[tuple[int, int]]] = {}
    for spec in deployment_specs("ws", docs, today=SEPTEMBER[0]):
        if spec.name.startswith("welcome"):
            continue
        minute, hour = (int(part) for part in spec.cron.split()[:2])
        crons.setdefault(spec.name.rsplit("-", 1)[0], []).append((hour, minute))
    overlays = [Layer(d, "1.0", d.overlay.priority) for d in docs if d.overlay is not None]
    missing: list[str] = []
    for doc in (d for d in docs if d.overlay is None):
        found = plan_layers(
            base=Layer(doc, "1.0"), overlays=overlays, groups=GROUPS,
            start=SEPTEMBER[0], end=SEPTEMBER[1],
        )  # fmt: skip
        for action in found.actions:
            if action.kind == "welcome":
                continue  # the welcome loop runs every five minutes
            runs = [
                datetime.combine(action.at.date(), datetime.min.time(), action.at.tzinfo)
                + timedelta(hours=h, minutes=m)
                for h, m in crons.get(PLAYBOOK_OF[action.kind], [])
            ]
            if not any(action.at <= run <= action.at + LATENESS for run in runs):
                missing.append(f"{action.key} at {action.at:%H:%M}")
    return missing


def test_every_planned_post_of_the_examples_has_a_scheduled_run_in_time() -> None:
    docs = documents()
    assert {d.id for d in docs} >= {"mombaby-refined", "mombaby-weekly-jielong", "mombaby-moved"}
    assert uncovered(docs) == []


def test_deferred_and_shifted_post_times_get_their_own_cron() -> None:
    moved = next(d for d in documents() if d.id == "mombaby-moved")
    times = send_times(moved, today=SEPTEMBER[0])["mature_day"]
    assert {"08:00", "08:30", "15:30"} <= times  # 23:00 deferred; 08:10 and 15:10 shifted
    found = plan_layers(
        base=Layer(moved, "1.0"), overlays=[], groups=GROUPS[:1],
        start=date(2026, 9, 8), end=date(2026, 9, 8),
    )  # fmt: skip
    at = {a.slot: f"{a.at:%H:%M}" for a in found.actions}
    assert (at["columns.night"], at["columns.early"], at["columns.tip"]) == (
        "08:00",
        "08:30",
        "15:30",
    )
