"""Inputs for the pure planner: a small valid SOP, plain groups and joins, Beijing times."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.planner import Plan, plan
from sop_models import SopDocument, validate_data
from sop_models.actions import PlannedAction

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class G:
    """A plain group (the planner's GroupLike)."""

    id: str
    name: str
    start_date: date | None = None
    channel: str = "console"
    target: str = ""
    sender: str = ""


@dataclass(frozen=True)
class J:
    """A plain member join (the planner's JoinLike)."""

    group_id: str
    member_id: str
    member_name: str
    joined_at: datetime


BASE: dict[str, Any] = {
    "id": "test-sop",
    "title": "测试 SOP",
    "positioning": {"target_users": "宝妈", "pain_point": "夜醒", "solution": "每日干货"},
    "community_type": "refined_ops",
    "group_purpose": "welfare",
    "roles": {"owner": "群主 安安", "admins": ["小王"], "content_lead": "阿May"},
    "rules": {"donts": ["不发广告"], "musts": ["改昵称"]},
    "base_content": {
        "welcome": {"warmth": "欢迎新妈妈！", "value": "每天干货", "rules": "先看群公告"},
        "self_intro_template": "城市 + 昵称",
        "announcement": "【群公告】不发广告",
    },
    "templates": [{"id": "t", "variables": ["date"], "body": "{{ date }} 推送"}],
}


def sop(**sections: Any) -> SopDocument:
    """A small valid document with `sections` set (schedule, playbooks, templates...)."""
    data = copy.deepcopy(BASE)
    data.update(sections)
    return validate_data(data)


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A Beijing (+08:00) time."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def run(doc: SopDocument, groups: list[G], start: date, end: date, **kw: Any) -> Plan:
    """The plan of `doc` at version 1.0 for `groups` from `start` to `end`."""
    return plan(doc=doc, version="1.0", groups=groups, start=start, end=end, **kw)


def by_slot(actions: list[PlannedAction], slot: str) -> list[PlannedAction]:
    """The actions of one slot, e.g. `cold_start.first`."""
    return [a for a in actions if a.slot == slot]


def dates(actions: list[PlannedAction]) -> list[date]:
    """The local dates of `actions`, in order."""
    return [a.at.date() for a in actions]
