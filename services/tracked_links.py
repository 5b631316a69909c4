"""Tracked links: a message's link becomes `/r/TOKEN`; a click is an event, then a redirect.

`rewrite_links` gives every http(s) URL of a message text its own unguessable token (128 bits,
naming the message key and group in the database, nothing personal in the URL). `click`
records the first click of each visitor (the member where WeCom identified them, else the
address) in `web_clicks` (which knows the message key: `clicks_by_message`) and as a `click`
event (group, member, time, SOP version) in the workspace's event store, ignores robots by
user agent, and returns where to send the browser.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

import pyarrow as pa
from sqlalchemy import exc, func
from sqlmodel import col, select

from services.kpis import event_store
from services.web_store import LinkClick, TrackedLink
from services.workspace import Workspace

URL = re.compile(r"https?://[^\s<>\"'）】，。]+")
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
) -> str:
    """`text` with each http(s) URL replaced by a tracked link of its own under `base_url`."""
    made: list[TrackedLink] = []

    def replace(match: re.Match[str]) -> str:
        token = secrets.token_urlsafe(16)
        made.append(
            TrackedLink(
                token=token,
                message_key=message_key,
                group_id=group_id,
                sop_id=sop_id,
                version=version,
                url=match.group(0),
                created_at=now,
            )
        )
        return f"{base_url.rstrip('/')}/r/{token}"

    rewritten = URL.sub(replace, text)
    if made:
        with ws.session() as session:
            session.add_all(made)
            session.commit()
    return rewritten


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
    ]
)
