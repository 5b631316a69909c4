"""Action keys: one key per action, whatever characters its parts hold."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from engine.ledger.model import slot_key, unversioned_key
from sop_models.actions import PlannedAction, action_key, key_part

SHANGHAI = timezone(timedelta(hours=8))


def unescape(part: str) -> str:
    return part.replace("%3A", ":").replace("%25", "%")


def test_keys_of_valid_ids_read_as_before() -> None:
    key = action_key("mombaby-refined", "1.0", "sh-01", "columns.morning", "2026-09-08")
    assert key == "mombaby-refined:1.0:sh-01:columns.morning:2026-09-08"
    assert action_key("s", "1.0", "g1", "on_join.welcome", "2026-09-08", "小美") == (
        "s:1.0:g1:on_join.welcome:2026-09-08:小美"
    )


def test_a_group_id_holding_the_separator_cannot_pose_as_another_groups_action() -> None:
    # The attack: this group's column and another group's welcome used to share one key.
    colon_group = action_key(
        "s", "1.0", "g:on_join.welcome:2026-09-08:x", "columns.a", "2026-09-08"
    )
    plain = action_key("s", "1.0", "g", "on_join.welcome", "2026-09-08", "x:columns.a:2026-09-08")
    assert colon_group != plain


def test_every_split_of_tricky_parts_gives_its_own_key_and_splits_back() -> None:
    pieces = ["a", ":", "%", "%3A", "a:b", "", "%25:", "群:1"]
    seen: dict[str, tuple[str, ...]] = {}
    for parts in itertools.product(pieces, repeat=3):
        key = action_key(*parts)
        assert seen.setdefault(key, parts) == parts, f"{parts} and {seen[key]} share {key!r}"
        assert tuple(unescape(p) for p in key.split(":")) == parts
    assert key_part("a:b%") == "a%3Ab%25"


def test_the_slot_key_drops_only_the_version_also_for_escaped_parts() -> None:
    action = PlannedAction(
        key=action_key("s:x", "1:0", "g", "columns.a", "2026-09-08"),
        sop_id="s:x",
        version="1:0",
        group_id="g",
        at=datetime(2026, 9, 8, 10, tzinfo=SHANGHAI),
        kind="column",
        slot="columns.a",
        text="早安",
    )
    assert slot_key(action) == action_key("s:x", "g", "columns.a", "2026-09-08")
    other = action_key("s:x", "1:1", "g", "columns.a", "2026-09-08")
    assert unversioned_key(other, "s:x", "1:1") == slot_key(action)
    assert unversioned_key("made-up", "s", "1.0") == "made-up"  # not a planner key
