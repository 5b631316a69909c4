"""Tracked links: a message's link becomes `/r/TOKEN`; a click is an event, then a redirect.

`rewrite_links` gives every http(s) URL of a message text its own unguessable token (128 bits,
naming the message key and group in the database, nothing personal in the URL). `click`
records the first click of each visitor (the member where WeCom identified them, else the
address) in `web_clicks` (which knows the message key: `clicks_by_message`) and as a `click`
event (group, member, time, SOP version) in the workspace's event store, ignores robots by
user agent, and returns where to send the browser.

`track_action_links` is the send-time hook (services/sending.send_batch): for actions whose
SOP version declares `track_links` (sop_models/link_tracking.py) it rewrites the text and a
news card's `news_url` under the `console_url` setting, with the action's message key
`sop:version:slot:date`. A resend of the same message to the same group reuses its tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import pyarrow as pa
from sqlalchemy import exc, func
from sqlmodel import col, select

from services.kpis import event_store
from services.settings import CONFIG_FILE
from services.web_store import LinkClick, TrackedLink
from services.workspace import Workspace
from sop_models import parse_document
from sop_models.actions import PlannedAction
from sop_models.errors import ChannelNotConfigured
from sop_models.link_tracking import LinkTracking, tracks
from sop_models.messages import message_of_delivery

URL = re.compile(r"https?://[^\s<>\"'()\[\]（）【】，。]+")
BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|curl|wget|python-|httpx|"
    r"go-http-client|java/|headless|monitor|scan",
    re.IGNORECASE,
)


def is_robot(user_agent: str) -> bool:
    """Whether a user agent is a robot, link previewer or script (an empty one counts)."""
    return not user_agent.strip() or bool(BOTS.search(user_agent))


def rewrite_links(
    ws: Workspace,
    *,
    text: str,
    message_key: str,
    group_id: str,
    sop_id: str,
    version: str,
    base_url: str,
    now: datetime,
    only: Callable[[str], bool] | None = None,
) -> str:
    """`text` with each http(s) URL (those `only` accepts) replaced by a tracked link under
    `base_url`; the same URL of the same message and group keeps its token."""
    with ws.session() as session:
        known = {
            link.url: link.token
            for link in session.exec(
                select(TrackedLink).where(
                    TrackedLink.message_key == message_key, TrackedLink.group_id == group_id
                )
            ).all()
        }
    made: list[TrackedLink] = []

    def swap(match: re.Match[str]) -> str:
        url = match.group(0)
        if only is not None and not only(url):
            return url
        if url not in known:
            known[url] = secrets.token_urlsafe(16)
            made.append(
                TrackedLink(
                    token=known[url],
                    message_key=message_key,
                    group_id=group_id,
                    sop_id=sop_id,
                    version=version,
                    url=url,
                    created_at=now,
                )
            )
        return f"{base_url.rstrip('/')}/r/{known[url]}"

    rewritten = URL.sub(swap, text)
    if made:
        with ws.session() as session:
            session.add_all(made)
            session.commit()
    return rewritten


Declared = bool | LinkTracking | None


def track_action_links(
    ws: Workspace, actions: Sequence[PlannedAction], *, now: datetime
) -> list[PlannedAction]:
    """`actions` with the links their SOP declares tracked rewritten into `/r/TOKEN` links.

    Raises ChannelNotConfigured (naming `console_url`) when an SOP tracks links and the
    workspace has no console URL: the message is not sent with links nobody can count.
    """
    declared: dict[tuple[str, str], Declared] = {}
    out: list[PlannedAction] = []
    for action in actions:
        if not any(URL.search(text) for text in _texts(action)):
            out.append(action)  # no link: nothing to track, no need to read its SOP
            continue
        ref = (action.sop_id, action.version)
        if ref not in declared:
            info = ws.store.resolve(action.sop_id, action.version)
            declared[ref] = parse_document(ws.store.content(info), info.tag).track_links
        out.append(_tracked(ws, action, declared[ref], now))
    return out


def _texts(action: PlannedAction) -> tuple[str, str]:
    """Where a message's links are: its text and a news card's url."""
    return action.text, action.extra.get("news_url", "")


def _tracked(
    ws: Workspace, action: PlannedAction, declared: Declared, now: datetime
) -> PlannedAction:
    if not any(tracks(declared, m.group(0)) for text in _texts(action) for m in URL.finditer(text)):
        return action
    base = (ws.settings.console_url or "").strip()
    if not base:
        raise ChannelNotConfigured(
            f"{action.sop_id} {action.version}: track_links needs the console's address: "
            f"set SOPFLOW_CONSOLE_URL or console_url in {ws.root / CONFIG_FILE}"
        )

    def rewrite(text: str) -> str:
        return rewrite_links(
            ws, text=text, message_key=message_of_delivery(action.key), group_id=action.group_id,
            sop_id=action.sop_id, version=action.version, base_url=base, now=now,
            only=lambda url: tracks(declared, url),
        )  # fmt: skip

    extra = dict(action.extra)
    if extra.get("news_url"):
        extra["news_url"] = rewrite(extra["news_url"])
    return replace(action, text=rewrite(action.text), extra=extra)


def link_exists(ws: Workspace, token: str) -> bool:
    """Whether `token` names a tracked link."""
    with ws.session() as session:
        return session.get(TrackedLink, token) is not None


def click(
    ws: Workspace,
    *,
    token: str,
    member: str | None,
    address: str,
    user_agent: str,
    now: datetime,
) -> str | None:
    """The target URL of a token (None if unknown); a first human click becomes an event."""
    with ws.session() as session:
        link = session.get(TrackedLink, token)
        if link is None:
            return None
        session.expunge(link)
        if is_robot(user_agent):
            return link.url
        # An unidentified visitor is a pseudonym of their address (the address is not kept).
        anonymous = "anon-" + hashlib.sha256(address.encode()).hexdigest()[:16]
        visitor = member or anonymous
        session.add(LinkClick(token=token, visitor=visitor, at=now))
        try:
            session.commit()
        except exc.IntegrityError:
            session.rollback()
            return link.url  # this visitor clicked before: counted once
    _record_event(ws, link, member=visitor, now=now)
    return link.url


def clicks_by_message(ws: Workspace, *, sop_id: str | None = None) -> dict[str, int]:
    """Counted clicks (one per visitor and link) per message key."""
    stmt = (
        select(TrackedLink.message_key, func.count())
        .join(LinkClick, col(LinkClick.token) == col(TrackedLink.token))
        .group_by(TrackedLink.message_key)
    )
    if sop_id is not None:
        stmt = stmt.where(TrackedLink.sop_id == sop_id)
    with ws.session() as session:
        return {key: int(n) for key, n in session.exec(stmt).all()}


def _record_event(ws: Workspace, link: TrackedLink, *, member: str, now: datetime) -> None:
    row = {
        "group": [link.group_id],
        "member": [member],
        "time": [now.isoformat()],
        "event": ["click"],
        "value": [None],
        "sop_version": [link.version],
        "sop": [link.sop_id],
        "message": [link.message_key],
    }
    table = pa.table(row, schema=_SCHEMA)
    event_store(ws).import_rows(table, f"tracked link {link.token}", now=now)


_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("member", pa.string()),
        ("time", pa.string()),
        ("event", pa.string()),
        ("value", pa.float64()),
        ("sop_version", pa.string()),
        ("sop", pa.string()),
        ("message", pa.string()),
    ]
)
