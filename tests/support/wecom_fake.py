"""A local WeCom server for tests: follows the documented protocol over real HTTP.

    with FakeWeCom(clock=clock) as wecom:           # 127.0.0.1, free port, own thread
        client = WeComClient(corpid=wecom.corpid, corpsecret=wecom.corpsecret,
                             base_url=wecom.base_url)

Every answer is HTTP 200 with an errcode. Tests steer it: `fail_next(api, errcode, times)`
(40014, 42001, 45009, 45033, -1, ...), `hang_next(api, seconds)` (answers after the client
gave up; the request still takes effect), `expire_tokens`/`invalidate_tokens`, `add_chats`,
`set_chat_status`, `add_stats`. `calls(api)` and `robot_messages(key)` show what arrived.

It is as strict as WeCom (rules in tests/support/wecom_fake_rules.py): media ids from
`media/upload` expire after 3 days, texts/links/robot payloads have byte limits, robot images
must be JPG/PNG <= 2 MB with the md5 of their bytes, `confirm(msgid)` (the sender confirming)
marks each chat sent (1) or, past the mass-message cap under `cap_rule` ("month": days in
the month, "week": 7, "day": 1; `other_send` adds sends of other tools), refused (3); a
confirmed task reports status 2. Statistics need `owner_filter` once the app sees more than
1,000 people (`visible_people`, default 5,000: 81017 otherwise), and multi-day by-owner
windows answer only what `add_window_stats` gave (no invented sums). A 45009 blocks that API
for `block_seconds` (60). `misconfigure(errcode)` makes a setup error stick (40001/40013 on
gettoken, 48002/60020 on every API) until `misconfigure(None)`; `fail_after_effect(api,
errcode)` answers an error although the call took effect (a `-1` after creating a task).
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support import wecom_fake_rules as rules
from tests.support.wecom_fake_api import COUNTS, ROUTES, Answer, Template, _day_ts, _error

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
DAY = 86400
ERRMSG = {
    40014: "invalid access_token",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    -1: "system busy",
    40001: "invalid credential",
    40013: "invalid corpid",
    48002: "api forbidden",
    60020: "not allow to access from your ip",
    81017: "owner_filter is required",
}
GET_APIS = frozenset({"externalcontact/get_follow_user_list"})
SETUP_ON_TOKEN, SETUP_ON_CALL = frozenset({40001, 40013}), frozenset({48002, 60020})


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
        now = getattr(clock, "now", None)  # a FakeClock: WeCom's unix times follow it
        self.unix_now: Callable[[], int] = (
            (lambda: int(now().timestamp())) if callable(now) else (lambda: int(time.time()))
        )
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
        self.media: dict[str, int] = {}  # media_id -> unix time of its upload
        self.cap_rule = "month"
        self.other_sends: list[tuple[str, int]] = []  # (chat id, unix): other tools' sends
        self.visible_people = 5000
        self.follow_users: set[str] = set()
        self.window_stats: dict[tuple[str, int, int], dict[str, int]] = {}
        self.block_seconds = 60.0
        self.blocked: dict[str, float] = {}
        self.setup_error: int | None = None
        self._after_effect: dict[str, deque[int]] = {}
        self.webhook_rejections = 0
        self.login_codes: dict[str, str] = {}  # OAuth2 code -> userid (auth/getuserinfo)
        self.app_secrets: set[str] = set()  # other apps of the corp (e.g. the console's)
        self.visitor_codes: dict[str, str] = {}  # OAuth2 code -> a customer's external_userid
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

    def settings_toml(self) -> str:
        """The sopflow.toml lines pointing a workspace at this fake (base URL, corp id, secret)."""
        return (
            f'wecom_base_url = "{self.base_url}"\nwecom_corp_id = "{self.corpid}"\n'
            f'wecom_corp_secret = "{self.corpsecret}"\n'
        )

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

    def fail_after_effect(self, api: str, errcode: int, times: int = 1) -> None:
        """Answer `errcode` although the call takes effect (e.g. -1 after creating a task)."""
        with self.lock:
            self._after_effect.setdefault(api, deque()).extend([errcode] * times)

    def misconfigure(self, errcode: int | None) -> None:
        """A setup error every call meets until it is fixed (None): 40001/40013/48002/60020."""
        with self.lock:
            self.setup_error = errcode

    def confirm(self, msgid: str, at: int | None = None) -> dict[str, int]:
        """The sender confirms `msgid`: each chat sent (1), or refused past the cap (3)."""
        with self.lock:
            template = self.templates[msgid]
            when = at or self.unix_now()
            if template.cancelled:
                return {}
            for chat in template.status:
                period, cap = rules.cap_period(self.cap_rule, when)
                used = sum(
                    1 for t in self._sends(chat) if rules.cap_period(self.cap_rule, t)[0] == period
                )
                template.status[chat] = (1, when) if used < cap else (3, None)
            return {chat: status for chat, (status, _) in template.status.items()}

    def _sends(self, chat: str) -> list[int]:
        own = [
            t
            for template in self.templates.values()
            for c, (status, t) in template.status.items()
            if c == chat and status == 1 and t
        ]
        return own + [t for c, t in self.other_sends if c == chat]

    def other_send(self, chat_id: str, at: int, creator: str = "") -> None:
        """A mass message another tool (or staff) sent to `chat_id`: counts to the cap.

        With a `creator` it is a task they created, sent through the group's owner and
        listed by get_groupmsg_list_v2 like ours.
        """
        with self.lock:
            if not creator:
                self.other_sends.append((chat_id, at))
                return
            msgid = self.new_msgid()
            body = {"chat_type": "group", "text": {"content": "(another tool)"}}
            owner = next((s for s, chats in self.chats.items() if chat_id in chats), creator)
            status = {chat_id: (1, at)}  # a group's mass messages go out through its owner
            self.templates[msgid] = Template(
                msgid, owner, [chat_id], body, at, status, creator=creator
            )

    def upload_media(self, raw: bytes, at: int | None = None) -> str:
        """A media id as `media/upload` would give for `raw`, uploaded at `at` (unix)."""
        with self.lock:
            media_id = f"3fake-media-{next(self._ids):06d}"
            self.media[media_id] = self.unix_now() if at is None else at
            return media_id

    def add_window_stats(self, owner: str, begin: date, end: date, **counts: int) -> None:
        """What WeCom answers for `owner` over the window [begin, end] (by-owner statistics)."""
        with self.lock:
            window = (owner, _day_ts(begin), _day_ts(end))
            self.window_stats[window] = {name: counts.get(name, 0) for name in COUNTS}

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
    def handle(
        self, method: str, path: str, body: Any, raw: bytes = b"", content_type: str = ""
    ) -> tuple[Answer, float]:
        """The answer to one request and how long to hold it back."""
        parts = urlsplit(path)
        api = parts.path.removeprefix("/cgi-bin/")
        query = dict(parse_qsl(parts.query))
        with self.lock:
            now = self.clock()
            self._calls.append(Call(api, query, body, now))
            hang = self._hang[api].popleft() if self._hang.get(api) else 0.0
            injected = self._fail[api].popleft() if self._fail.get(api) else None
            scope = f"{api}#{query.get('key', '')}" if api == "webhook/send" else api
            if injected == 45009:  # the limit is hit: refused for the whole period (per robot)
                self.blocked[scope] = now + self.block_seconds
            if injected is None:
                injected = self._setup_refusal(api)
            if injected is None and now < self.blocked.get(scope, float("-inf")):
                injected = 45009
            if injected is not None:
                answer = _error(injected, ERRMSG.get(injected, "injected error"))
            elif api.startswith("media/"):
                answer = self._media(api, query, raw, content_type)
            else:
                answer = self._route(method, api, query, body)
                after = self._after_effect.get(api)
                if after and answer["errcode"] == 0:
                    code = after.popleft()
                    answer = _error(code, ERRMSG.get(code, "injected error"))
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
        if api in GET_APIS and method == "GET":
            body = {}
        if (method != "POST" and api not in GET_APIS) or not isinstance(body, dict):
            return _error(40058, "expects a POST with a JSON object body")
        route = ROUTES.get(api)
        return route(self, body) if route else _error(40058, f"unknown api {api}")

    def _setup_refusal(self, api: str) -> int | None:
        code = self.setup_error
        if code in SETUP_ON_TOKEN and api == "gettoken":
            return code
        if code in SETUP_ON_CALL and api not in ("gettoken", "webhook/send"):
            return code
        return None

    def _media(self, api: str, query: dict[str, str], raw: bytes, content_type: str) -> Answer:
        token_error = self._check_token(query.get("access_token", ""))
        if token_error:
            return token_error
        data = rules.multipart_file(content_type, raw)
        if data is None:
            return _error(41005, "media data missing")
        if api == "media/uploadimg":
            refused = rules.check_image(data, rules.ROBOT_IMAGE_BYTES)
            if refused:
                return _error(*refused)
            url = f"https://wework.qpic.cn/fake/{next(self._ids):06d}/0"
            return {"errcode": 0, "errmsg": "ok", "url": url}
        if api != "media/upload" or query.get("type") != "image":
            return _error(40004, "invalid media type")
        refused = rules.check_image(data, rules.UPLOAD_IMAGE_BYTES)
        if refused:
            return _error(*refused)
        media_id = f"3fake-media-{next(self._ids):06d}"
        self.media[media_id] = self.unix_now()
        created = str(self.media[media_id])
        return {
            "errcode": 0,
            "errmsg": "ok",
            "type": "image",
            "media_id": media_id,
            "created_at": created,
        }

    def _gettoken(self, query: dict[str, str]) -> Answer:
        if query.get("corpid") != self.corpid:
            return _error(40013, "invalid corpid")
        if query.get("corpsecret") not in {self.corpsecret, *self.app_secrets}:
            return _error(40001, "invalid credential")
        self.tokens_issued += 1
        token = f"fake-token-{self.tokens_issued:04d}-{next(self._ids):06d}"
        self.tokens[token] = self.clock() + self.token_ttl
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl}

    def _getuserinfo(self, code: str) -> Answer:
        """A login code is good once (WeCom's codes are single-use, 5 minutes)."""
        customer = self.visitor_codes.pop(code, None)
        if customer is not None:  # not a member of the company: external_userid and openid
            return {"errcode": 0, "errmsg": "ok", "external_userid": customer, "openid": "o-x"}
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
        refused = rules.check_robot_body(kind, content)
        if refused:
            return _error(*refused)
        sent.append((now, body))
        return {"errcode": 0, "errmsg": "ok"}

    def new_msgid(self) -> str:
        return f"msgGAAAA{next(self._ids):08d}"


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
            kind = self.headers.get("Content-Type") or ""
            answer, hang = fake.handle(method, self.path, body, raw, kind)
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
