"""A local WeCom server for tests: follows the documented protocol over real HTTP.

    with FakeWeCom(clock=clock) as wecom:           # 127.0.0.1, free port, own thread
        client = WeComClient(corpid=wecom.corpid, corpsecret=wecom.corpsecret,
                             base_url=wecom.base_url)

Every answer is HTTP 200 with an errcode. Tests steer it: `fail_next(api, errcode, times)`
(40014, 42001, 45009, 45033, -1, ...), `hang_next(api, seconds)` (answers after the client
gave up; the request still takes effect), `expire_tokens`/`invalidate_tokens`, `add_chats`,
`set_chat_status`, `add_stats`. `calls(api)` and `robot_messages(key)` show what arrived.
`echo_secrets_in_errmsg=True` makes every error answer repeat the corp secret, the request's
access token and robot key in free text (no `name=value`), as a careless server might.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
DAY = 86400
ERRMSG = {
    40014: "invalid access_token",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    -1: "system busy",
}
COUNTS = (
    *("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total"),
    *("member_has_msg", "msg_total", "migrate_trainee_chat_cnt"),
)
ORDER_BY = {1: "new_chat_cnt", 2: "chat_total", 3: "new_member_cnt", 4: "member_total"}
Answer = dict[str, Any]


class FakeClock:
    """A clock whose `sleep` advances it at once; share it between client and server."""

    def __init__(self, start: float = 1000.0, epoch: datetime | None = None) -> None:
        self.t = start
        self.start = start
        self.epoch = epoch or datetime(2025, 3, 8, 9, 0, tzinfo=CST)
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.t += max(0.0, seconds)

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=self() - self.start)


@dataclass
class Call:
    api: str
    query: dict[str, str]
    body: Any
    at: float


@dataclass
class Template:
    msgid: str
    sender: str
    chat_ids: list[str]
    body: dict[str, Any]
    created: int
    status: dict[str, tuple[int, int | None]] = field(default_factory=dict)


class FakeWeCom:
    """The fake server; state is guarded by one lock, handlers run in threads."""

    def __init__(
        self,
        *,
        corpid: str = "ww-fake-corp",
        corpsecret: str = "fake-corp-secret-0001",
        robot_keys: tuple[str, ...] = ("fake-robot-key-0001",),
        clock: Callable[[], float] = time.monotonic,
        token_ttl: int = 7200,
        echo_request_in_errmsg: bool = False,
        echo_secrets_in_errmsg: bool = False,
    ) -> None:
        self.corpid, self.corpsecret, self.robot_keys = corpid, corpsecret, set(robot_keys)
        self.clock, self.token_ttl, self.echo = clock, token_ttl, echo_request_in_errmsg
        self.echo_secrets = echo_secrets_in_errmsg
        self.unix_now: Callable[[], int] = lambda: int(time.time())
        self.stats_today: date | None = None  # set to enforce the 180-day window
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._calls: list[Call] = []
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self._fail: dict[str, deque[int]] = {}
        self._hang: dict[str, deque[float]] = {}
        self.chats: dict[str, set[str]] = {}
        self.templates: dict[str, Template] = {}
        self.stats: dict[tuple[str, int], dict[str, int]] = {}
        self._robot_sent: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.webhook_rejections = 0
        self.login_codes: dict[str, str] = {}  # OAuth2 code -> userid (auth/getuserinfo)
        self._server: ThreadingHTTPServer | None = None

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeWeCom:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads, server.block_on_close = True, False
        self._server = server
        threading.Thread(
            target=server.serve_forever, args=(0.02,), daemon=True, name="fake-wecom"
        ).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWeCom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeWeCom is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/"

    # steering and inspection ---------------------------------------------------------------
    def fail_next(self, api: str, errcode: int, times: int = 1) -> None:
        with self.lock:
            self._fail.setdefault(api, deque()).extend([errcode] * times)

    def hang_next(self, api: str, seconds: float, times: int = 1) -> None:
        with self.lock:
            self._hang.setdefault(api, deque()).extend([seconds] * times)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, float("-inf"))

    def invalidate_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def add_chats(self, sender: str, chat_ids: list[str]) -> None:
        with self.lock:
            self.chats.setdefault(sender, set()).update(chat_ids)

    def set_chat_status(self, msgid: str, chat_id: str, status: int, send_time: int = 0) -> None:
        with self.lock:
            self.templates[msgid].status[chat_id] = (status, send_time or None)

    def add_stats(self, owner: str, day: date, **counts: int) -> None:
        with self.lock:
            self.stats[(owner, _day_ts(day))] = {name: counts.get(name, 0) for name in COUNTS}

    def calls(self, api: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self._calls if api is None or c.api == api]

    def robot_messages(self, key: str) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return list(self._robot_sent.get(key, []))

    # dispatch ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: Any) -> tuple[Answer, float]:
        """The answer to one request and how long to hold it back."""
        parts = urlsplit(path)
        api = parts.path.removeprefix("/cgi-bin/")
        query = dict(parse_qsl(parts.query))
        with self.lock:
            self._calls.append(Call(api, query, body, self.clock()))
            hang = self._hang[api].popleft() if self._hang.get(api) else 0.0
            injected = self._fail[api].popleft() if self._fail.get(api) else None
            if injected is not None:
                answer = _error(injected, ERRMSG.get(injected, "injected error"))
            else:
                answer = self._route(method, api, query, body)
        if answer["errcode"] != 0 and self.echo:
            answer["errmsg"] += f" (request {path})"
        if answer["errcode"] != 0 and self.echo_secrets:
            secret = query.get("corpsecret") or self.corpsecret
            answer["errmsg"] += (
                f", invalid credential, secret: {secret} token: {query.get('access_token', '-')}"
                f" key: {query.get('key', '-')} hint: check the app settings"
            )
        return answer, hang

    def _route(self, method: str, api: str, query: dict[str, str], body: Any) -> Answer:
        if api == "gettoken":
            return self._gettoken(query)
        if api == "webhook/send":
            return self._webhook(query.get("key", ""), body)
        token_error = self._check_token(query.get("access_token", ""))
        if token_error:
            return token_error
        if api == "auth/getuserinfo" and method == "GET":
            return self._getuserinfo(query.get("code", ""))
        if method != "POST" or not isinstance(body, dict):
            return _error(40058, "expects a POST with a JSON object body")
        route = ROUTES.get(api)
        return route(self, body) if route else _error(40058, f"unknown api {api}")

    def _gettoken(self, query: dict[str, str]) -> Answer:
        if query.get("corpid") != self.corpid:
            return _error(40013, "invalid corpid")
        if query.get("corpsecret") != self.corpsecret:
            return _error(40001, "invalid credential")
        self.tokens_issued += 1
        token = f"fake-token-{self.tokens_issued:04d}-{next(self._ids):06d}"
        self.tokens[token] = self.clock() + self.token_ttl
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl}

    def _getuserinfo(self, code: str) -> Answer:
        """A login code is good once (WeCom's codes are single-use, 5 minutes)."""
        userid = self.login_codes.pop(code, None)
        if userid is None:
            return _error(40029, "invalid code")
        return {"errcode": 0, "errmsg": "ok", "userid": userid}

    def _check_token(self, token: str) -> Answer | None:
        if token not in self.tokens:
            return _error(40014, "invalid access_token")
        if self.clock() >= self.tokens[token]:
            return _error(42001, "access_token expired")
        return None

    def _webhook(self, key: str, body: Any) -> Answer:
        if key not in self.robot_keys:
            return _error(93000, "invalid webhook url")
        now = self.clock()
        sent = self._robot_sent.setdefault(key, [])
        if sum(1 for at, _ in sent if now - at < 60) >= 20:
            self.webhook_rejections += 1
            return _error(45009, "api freq out of limit")
        kind = body.get("msgtype") if isinstance(body, dict) else None
        if kind not in ("text", "markdown", "image", "news"):
            return _error(40008, "invalid message type")
        content = body.get(kind) or {}
        if kind in ("text", "markdown") and not content.get("content"):
            return _error(44004, "empty content")
        if kind == "image" and not (content.get("base64") and content.get("md5")):
            return _error(40009, "image needs base64 and md5")
        if kind == "news" and not content.get("articles"):
            return _error(40058, "news needs articles")
        sent.append((now, body))
        return {"errcode": 0, "errmsg": "ok"}

    def new_msgid(self) -> str:
        return f"msgGAAAA{next(self._ids):08d}"


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
    task = {"userid": template.sender, "status": 1 if done else 0}
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
            "creator": t.sender,
            "create_time": t.created,
            "create_type": 0,
            "text": t.body.get("text", {}),
            "attachments": t.body.get("attachments", []),
        }
        for t in fake.templates.values()
        if start <= t.created <= end and body.get("creator") in (None, "", t.sender)
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
    if owners is not None and len(owners) > 100:
        raise _Refused(40058, "userid_list exceeds 100")
    return list(range(begin, end + 1, DAY)), owners


def _sum(fake: FakeWeCom, owners: list[str], days: list[int]) -> dict[str, int]:
    total = dict.fromkeys(COUNTS, 0)
    for owner in owners:
        for day in days:
            for name, value in fake.stats.get((owner, day), {}).items():
                total[name] += value
    return total


def _by_owner(fake: FakeWeCom, body: dict[str, Any]) -> Answer:
    days, owners = _stat_window(fake, body)
    limit, offset = int(body.get("limit") or 500), int(body.get("offset") or 0)
    if not 1 <= limit <= 1000:
        return _error(40058, "limit must be 1..1000")
    seen = sorted({o for o, d in fake.stats if d in days and (owners is None or o in owners)})
    items = [{"owner": o, "data": _sum(fake, [o], days)} for o in seen]
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
    items = [{"stat_time": d, "data": _sum(fake, chosen, [d])} for d in days]
    return {"errcode": 0, "errmsg": "ok", "items": items}


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
    }.items()
}


def _error(errcode: int, errmsg: str) -> Answer:
    return {"errcode": errcode, "errmsg": errmsg}


def _day_ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())


def _handler_for(fake: FakeWeCom) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size) if size else b""
            try:
                body = json.loads(raw.decode("utf-8")) if raw else None
            except ValueError:
                body = None
            answer, hang = fake.handle(method, self.path, body)
            if hang and fake._stop.wait(hang):
                return
            data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (hang mode)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def planned(key: str, **fields: Any) -> Any:
    """A PlannedAction for channel tests (defaults: text at 2025-03-08 10:00 +08:00)."""
    from sop_models.actions import PlannedAction

    values: dict[str, Any] = {
        "sop_id": "mom-baby",
        "version": "v3",
        "group_id": "g-001",
        "at": datetime(2025, 3, 8, 10, 0, tzinfo=CST),
        "kind": "column",
        "slot": "columns.morning",
        "text": "早上好！今天的育儿干货：宝宝辅食添加的三个原则。",
    }
    values.update(fields)
    return PlannedAction(key=key, **values)
