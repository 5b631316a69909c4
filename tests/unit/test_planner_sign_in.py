"""The cold start's sign-in hook produces its day-N prompts (campaign mechanics as actions)."""

from __future__ import annotations

from datetime import date

import pytest

from sop_models import DocumentInvalid
from tests.support.examples import example
from tests.support.planning import G, by_slot, local, run, sop


def test_the_3_day_sign_in_hook_prompts_on_days_1_to_3_of_a_new_group() -> None:
    group = [G("g1", "珠宝一群", date(2026, 9, 14))]
    result = run(example("jewelry-service"), group, date(2026, 9, 13), date(2026, 9, 20))
    prompts = by_slot(result.actions, "cold_start.sign-in")
    assert [a.at for a in prompts] == [local(2026, 9, d, 21) for d in (14, 15, 16)]
    assert prompts[1].text.startswith("新会员签到第 2 天")
    assert prompts[0].key == "jewelry-service:1.0:g1:cold_start.sign-in:2026-09-14"
    mature = run(
        example("jewelry-service"), [G("g2", "老群", date(2026, 1, 1))], *(date(2026, 9, 14),) * 2
    )
    assert not by_slot(mature.actions, "cold_start.sign-in")


def test_a_sign_in_prompt_without_a_template_is_refused_by_its_field_path() -> None:
    hook = {"name": "签到", "streak_days": 3, "reward": "小样", "time": "21:00"}
    with pytest.raises(DocumentInvalid, match=r"playbooks\.cold_start\.hook\.template: a sign-in"):
        sop(playbooks={"cold_start": {"days": 3, "hook": hook}})
