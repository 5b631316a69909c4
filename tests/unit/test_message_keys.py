"""Message keys: derived from delivery keys, never stored twice; welcomes are on_join slots."""

from __future__ import annotations

from datetime import date

import pytest

from sop_models.messages import is_welcome, message_key, message_of_delivery, slot_of


def test_a_delivery_key_names_its_message_with_or_without_a_member() -> None:
    post = "mombaby-refined:2.0:g1:columns.morning:2026-09-01"
    welcome = "mombaby-refined:2.0:g1:on_join.welcome:2026-09-01:m7"
    assert message_of_delivery(post) == "mombaby-refined:2.0:columns.morning:2026-09-01"
    assert message_of_delivery(welcome) == message_key(
        "mombaby-refined", "2.0", "on_join.welcome", date(2026, 9, 1)
    )
    with pytest.raises(ValueError, match="not a delivery key"):
        message_of_delivery("mombaby-refined:2.0:g1")


def test_slots_of_keys_and_welcome_slots() -> None:
    assert slot_of("s:1.0:on_join.welcome:2026-09-01") == "on_join.welcome"
    assert slot_of("columns.morning") == "columns.morning"
    assert is_welcome("on_join.welcome") and not is_welcome("columns.morning")
