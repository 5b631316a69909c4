"""Per-group tallies of a playbook run, its totals and which groups need attention."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.dispatch import DispatchReport
from services.run_summary import GroupTally, needs_attention, tally, totals
from services.sending import batches
from sop_models.actions import PlannedAction

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 9, 8, 10, 0, tzinfo=CST)


def action(group: str, slot: str, at: datetime = AT, channel: str = "outbox") -> PlannedAction:
    key = f"demo:1.0:{group}:{slot}:{at.date().isoformat()}"
    return PlannedAction(
        key=key, sop_id="demo", version="1.0", group_id=group, at=at, kind="column",
        slot=slot, text="早安", channel=channel,
    )  # fmt: skip


def test_tally_counts_each_group_and_totals_add_up() -> None:
    acts = [action(g, s) for g in ("g1", "g2", "g3", "g4") for s in ("am", "pm")]
    report = DispatchReport(
        planned=len(acts),
        sent=[acts[0].key, acts[1].key, acts[2].key, acts[6].key],
        failed=[acts[3].key],
        unknown=[acts[4].key],
        skipped_already_done=[acts[5].key],
        refused=[acts[7].key],
    )

    table = tally(acts, [report])

    assert {
        g: (r.planned, r.sent, r.failed, r.unknown, r.skipped, r.refused) for g, r in table.items()
    } == {
        "g1": (2, 2, 0, 0, 0, 0),
        "g2": (2, 1, 1, 0, 0, 0),
        "g3": (2, 0, 0, 1, 1, 0),
        "g4": (2, 1, 0, 0, 0, 1),
    }
    assert totals(table) == {
        "planned": 8, "sent": 4, "failed": 1, "unknown": 1, "awaiting": 0, "skipped": 1,
        "refused": 1,
    }  # fmt: skip


def test_needs_attention_flags_failed_unknown_and_unsettled_groups_only() -> None:
    def row(**counts: int) -> GroupTally:
        return GroupTally(planned=3, **counts)

    assert needs_attention(row(sent=3)) is False
    assert needs_attention(row(sent=1, skipped=2)) is False
    assert needs_attention(row(awaiting=3)) is False  # the sender confirms in WeCom
    assert needs_attention(row(sent=2, refused=1)) is False  # at the cap: reported, not owed
    assert needs_attention(row(sent=2, failed=1)) is True
    assert needs_attention(row(sent=2, unknown=1)) is True
    assert needs_attention(row(sent=2)) is True  # one neither sent nor reported


def test_batches_split_by_channel_and_hour() -> None:
    later = AT + timedelta(hours=5)
    acts = [
        action("g1", "am"),
        action("g2", "am", channel="robot"),
        action("g1", "pm", at=later),
        action("g2", "am2", at=AT + timedelta(minutes=20)),
    ]

    labels = [b.label for b in batches(acts)]

    assert labels == ["outbox@10:00x2", "robot@10:00x1", "outbox@15:00x1"]
