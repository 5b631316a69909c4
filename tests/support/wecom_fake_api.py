"""The externalcontact APIs of the fake WeCom server: route functions over its state.

Each takes the FakeWeCom (its lock held by the caller) and the JSON body, and returns the
answer WeCom would give; limits come from tests/support/wecom_fake_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from tests.support import wecom_fake_rules as rules
from tests.support.wecom_fake_rules import CST

if TYPE_CHECKING:
    from tests.support.wecom_fake import FakeWeCom

DAY = 86400
Answer = dict[str, Any]
COUNTS = (
    *("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total"),
    *("member_has_msg", "msg_total", "migrate_trainee_chat_cnt"),
)
ORDER_BY = {1: "new_chat_cnt", 2: "chat_total", 3: "new_member_cnt", 4: "member_total"}


@dataclass
class Template:
    msgid: str
    sender: str
    chat_ids: list[str]
    body: dict[str, Any]
    created: int
    status: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    cancelled: bool = False
    reminders: list[int] = field(default_factory=list)
    creator: str = ""  # who created the task (an admin, another tool); default the sender

    def __post_init__(self) -> None:
        self.creator = self.creator or self.sender


# externalcontact APIs: module functions called with the lock held -------------------------
def _paged(items: list[Any], body: dict[str, Any], max_limit: int) -> tuple[list[Any], str]:
    limit = int(body.get("limit") or max_limit)
    if not 1 <= limit <= max_limit:
        raise _Refused(40058, f"limit must be 1..{max_limit}")
    start = int(body.get("cursor") or 0)
    page = items[start : start + limit]
    return page, str(start + limit) if start + limit < len(items) else ""


class _Refused(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        self.answer = _error(errcode, errmsg)


def _add_msg_template(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    chat_type = body.get("chat_type", "single")
    sender = body.get("sender", "")
    chat_ids = list(body.get("chat_id_list") or [])
    if chat_type == "group" and not sender:
        return _error(40058, "sender is required for chat_type group")
    if len(chat_ids) > 2000:
        return _error(40058, "chat_id_list exceeds 2000")
    if len(body.get("attachments") or []) > 9:
        return _error(40058, "at most 9 attachments")
    if not (body.get("text") or {}).get("content") and not body.get("attachments"):
        return _error(40058, "text or attachments required")
    refused = rules.check_mass_body(body, fake.media, fake.unix_now())
    if refused:
        return _error(*refused)
    known = fake.chats.get(sender, set())
    targets = chat_ids or sorted(known)
    fail_list = [chat for chat in targets if chat not in known]
    msgid = fake.new_msgid()
    fake.templates[msgid] = Template(
        msgid,
        sender,
        [c for c in targets if c in known],
        body,
        fake.unix_now(),
        {c: (0, None) for c in targets if c in known},
    )
    return {"errcode": 0, "errmsg": "ok", "fail_list": fail_list, "msgid": msgid}


def _template(fake: FakeWeCom, body: dict[str, Any]) -> Template:
    template = fake.templates.get(str(body.get("msgid", "")))
    if template is None:
        raise _Refused(40058, "invalid msgid")
    return template


def _send_result(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    template = _template(fake, body)
    rows = []
    if body.get("userid") == template.sender:
        for chat, (status, send_time) in template.status.items():
            row = {"chat_id": chat, "userid": template.sender, "status": status}
            rows.append({**row, "send_time": send_time} if send_time else row)
    page, cursor = _paged(rows, body, 1000)
    return {"errcode": 0, "errmsg": "ok", "next_cursor": cursor, "send_list": page}


def _task(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    template = _template(fake, body)
    done = [t for s, t in template.status.values() if s != 0]
    task = {"userid": template.sender, "status": 2 if done else 0}  # 2 = sent [93338]
    if done:
        task["send_time"] = max(t or 0 for t in done)
    page, cursor = _paged([task], body, 1000)
    return {"errcode": 0, "errmsg": "ok", "next_cursor": cursor, "task_list": page}


def _list_v2(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    start, end = int(body.get("start_time") or 0), int(body.get("end_time") or 0)
    if body.get("chat_type") not in ("single", "group") or not start or end < start:
        return _error(40058, "chat_type, start_time and end_time are required")
    if end - start > 31 * DAY:
        return _error(40058, "time range exceeds one month")
    found = [
        {
            "msgid": t.msgid,
            "creator": t.creator,
            "create_time": t.created,
            "create_type": 0,
            "text": t.body.get("text", {}),
            "attachments": t.body.get("attachments", []),
        }
        for t in fake.templates.values()
        if start <= t.created <= end and body.get("creator") in (None, "", t.creator)
    ]
    page, cursor = _paged(found, body, 100)
    return {"errcode": 0, "errmsg": "ok", "next_cursor": cursor, "group_msg_list": page}


def _stat_window(fake: FakeWeCom, body: dict[str, Any]) -> tuple[list[int], list[str] | None]:
    begin = int(body.get("day_begin_time") or 0)
    end = int(body.get("day_end_time") or begin)
    begin, end = begin - (begin + 8 * 3600) % DAY, end - (end + 8 * 3600) % DAY  # CST midnight
    if begin <= 0 or end < begin or (end - begin) // DAY + 1 > 30:
        raise _Refused(600018, "invalid start endtime")
    if fake.stats_today is not None:
        oldest, newest = _day_ts(fake.stats_today) - 180 * DAY, _day_ts(fake.stats_today) - DAY
        if begin < oldest or end > newest:
            raise _Refused(600018, "invalid start endtime")
    owners = (body.get("owner_filter") or {}).get("userid_list")
    if owners is None and fake.visible_people > 1000:
        raise _Refused(81017, "owner_filter is required")
    if owners is not None and len(owners) > 100:
        raise _Refused(40058, "userid_list exceeds 100")
    return list(range(begin, end + 1, DAY)), owners


def _sum(fake: FakeWeCom, owners: list[str], day: int) -> dict[str, int]:
    """One day's counts over several owners: each group has one owner, so they add up."""
    total = dict.fromkeys(COUNTS, 0)
    for owner in owners:
        for name, value in fake.stats.get((owner, day), {}).items():
            total[name] += value
    return total


def _by_owner(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    days, owners = _stat_window(fake, body)
    limit, offset = int(body.get("limit") or 500), int(body.get("offset") or 0)
    if not 1 <= limit <= 1000:
        return _error(40058, "limit must be 1..1000")
    if len(days) == 1:
        found = {o: v for (o, d), v in fake.stats.items() if d == days[0]}
    else:  # the docs do not say how days combine: answer only what a test gave
        found = {
            o: v for (o, b, e), v in fake.window_stats.items() if (b, e) == (days[0], days[-1])
        }
    seen = sorted(o for o in found if owners is None or o in owners)
    items = [{"owner": o, "data": dict(found[o])} for o in seen]
    order = ORDER_BY.get(int(body.get("order_by") or 1), "new_chat_cnt")
    items.sort(key=lambda i: i["data"][order], reverse=not body.get("order_asc"))
    page = items[offset : offset + limit]
    return {
        "errcode": 0,
        "errmsg": "ok",
        "total": len(items),
        "next_offset": offset + len(page),
        "items": page,
    }


def _by_day(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    days, owners = _stat_window(fake, body)
    chosen = owners if owners is not None else sorted({o for o, _ in fake.stats})
    items = [{"stat_time": d, "data": _sum(fake, chosen, d)} for d in days]
    return {"errcode": 0, "errmsg": "ok", "items": items}


def _follow_users(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    people = fake.follow_users | set(fake.chats) | {o for o, _ in fake.stats}
    people |= {o for o, _, _ in fake.window_stats}
    return {"errcode": 0, "errmsg": "ok", "follow_user": sorted(people)}


def _remind(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    template = _template(fake, body)
    today = rules.cap_period("day", fake.unix_now())[0]
    if sum(1 for t in template.reminders if rules.cap_period("day", t)[0] == today) >= 3:
        return _error(41063, "remind at most 3 times a day")
    if template.cancelled:
        return _error(41064, "task cancelled")
    template.reminders.append(fake.unix_now())
    return {"errcode": 0, "errmsg": "ok"}


def _cancel(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    template = _template(fake, body)
    template.cancelled = True
    return {"errcode": 0, "errmsg": "ok"}


def _refusable(route: Callable[[FakeWeCom, dict[str, Any]], Answer]) -> Any:
    def run(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
        try:
            return route(fake, body)
        except _Refused as refused:
            return refused.answer

    return run


ROUTES = {
    api: _refusable(route)
    for api, route in {
        "externalcontact/add_msg_template": _add_msg_template,
        "externalcontact/get_groupmsg_send_result": _send_result,
        "externalcontact/get_groupmsg_task": _task,
        "externalcontact/get_groupmsg_list_v2": _list_v2,
        "externalcontact/groupchat/statistic": _by_owner,
        "externalcontact/groupchat/statistic_group_by_day": _by_day,
        "externalcontact/get_follow_user_list": _follow_users,
        "externalcontact/remind_groupmsg_send": _remind,
        "externalcontact/cancel_groupmsg_send": _cancel,
    }.items()
}


def _error(errcode: int, errmsg: str) -> Answer:
    return {"errcode": errcode, "errmsg": errmsg}


def _day_ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())
