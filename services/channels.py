"""Wiring for channels: a group's channel name -> a configured channel, and mass-send polling.

    console      ConsoleChannel on `stream` (stdout, looked up at send time, when none)
    outbox       OutboxChannel on `outbox/outbox-YYYY-MM-DD.jsonl` for `day` (the run's local
                 day, so files stay small and `reconcile` reads one day), else
                 `outbox/outbox.jsonl`
    tasklist     TaskListChannel under `tasks/` (it splits its files by day itself)
    robot        RobotWebhookChannel with `robot_keys` and `robot_base_url` from the settings
    wecom_mass   WeComMassSendChannel over a WeComClient (`wecom_corp_id`,
                 `wecom_corp_secret`, `wecom_base_url`)

Channels are cached per process and configuration: every caller that asks for the robot
channel with the same keys gets the same instance. Its 20-a-minute pacing is kept in the
workspace database, so it holds across processes too.
`close_channels()` releases their HTTP connections. Errors name the setting to change and
never carry a secret value (ChannelNotConfigured, drawn in sop_models/errors.py). The WeCom
channels get every configured secret value (corp secret, all robot keys) as one `Secrets`
set, to which the client adds the access tokens it fetches; they mask all of them in every
error text and response id before it reaches the ledger, a log or an artifact.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from engine.channels import (
    AWAITING,
    FAILED,
    SENT,
    AwaitingSend,
    Channel,
    ConsoleChannel,
    OutboxChannel,
    RobotWebhookChannel,
    TaskListChannel,
    WeComMassSendChannel,
)
from engine.channels.shared_limit import DatabaseWindowLimiter
from engine.groups import CHANNELS, Group
from engine.ledger import AWAITING as LEDGER_AWAITING
from engine.ledger import Delivery, record_results
from engine.wecom.client import WeComClient
from engine.wecom.errors import Secrets
from engine.wecom.robot import ROBOT_LIMIT_PER_MINUTE
from engine.wecom.shared_state import DatabaseBlockBoard, DatabaseTokenCache
from services.db import make_engine
from services.settings import CONFIG_FILE, Settings
from services.workspace import Workspace
from sop_models.errors import ChannelError, ChannelNotConfigured

MASS_SEND = "wecom_mass"


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def _digest(*values: str) -> str:
    """A short fingerprint of secrets for cache keys (the values never leave this function)."""
    return hashlib.sha256("\0".join(values).encode()).hexdigest()[:16]


def _missing(ws: Workspace, channel: str, names: Sequence[str]) -> ChannelNotConfigured:
    where = ws.root / CONFIG_FILE
    sets = " and ".join(f"SOPFLOW_{n.upper()} or {n}" for n in names)
    return ChannelNotConfigured(
        f"channel {channel}: missing {', '.join(names)}: set {sets} in {where}"
    )


def _robot_keys(ws: Workspace) -> dict[str, str]:
    keys = {name: _secret(key) for name, key in ws.settings.robot_keys.items()}
    keys = {name: key for name, key in keys.items() if key}
    if not keys:
        raise ChannelNotConfigured(
            f'channel robot: no robot keys: add `[robot_keys]` with `<robot name> = "<key>"`'
            f" to {ws.root / CONFIG_FILE} or set SOPFLOW_ROBOT_KEYS='{{\"<robot name>\": ...}}'"
        )
    return keys


def configured_secrets(settings: Settings) -> Secrets:
    """Every secret value in `settings` (corp and login secrets, robot keys), as a new set to
    mask."""
    keys = [_secret(key) for key in settings.robot_keys.values()]
    corp = [_secret(settings.wecom_corp_secret), _secret(settings.wecom_login_secret)]
    return Secrets([*corp, *keys])  # empty values are skipped


def _secrets_digest(settings: Settings) -> str:
    """Channels masking another set of secrets are other channels (part of the cache key)."""
    return _digest(*sorted(configured_secrets(settings)))


def wecom_credentials(ws: Workspace) -> tuple[str, str]:
    corp_id = (ws.settings.wecom_corp_id or "").strip()
    secret = _secret(ws.settings.wecom_corp_secret)
    missing = [n for n, v in (("wecom_corp_id", corp_id), ("wecom_corp_secret", secret)) if not v]
    if missing:
        raise _missing(ws, MASS_SEND, missing)
    return corp_id, secret


def shared_wecom_client(
    ws: Workspace, engine: Engine, *, credentials: tuple[str, str] | None = None
) -> WeComClient:
    """A WeCom client whose access_token and 45009 blocks are shared through `engine`'s
    database: every process and host on it fetches one token and respects one block.
    `credentials` (corp id, secret) name another app of the corp than sending's (its token
    is cached apart: the cache key holds a digest of the secret)."""
    corp_id, secret = credentials or wecom_credentials(ws)
    return WeComClient(
        corpid=corp_id,
        corpsecret=secret,
        base_url=ws.settings.wecom_base_url,
        secrets=configured_secrets(ws.settings),
        clock=time.time,  # token expiry is compared across processes: the wall clock
        token_cache=DatabaseTokenCache(engine, secret=secret),
        blocks=DatabaseBlockBoard(engine),
    )


@contextmanager
def wecom_client(ws: Workspace) -> Iterator[WeComClient]:
    """`shared_wecom_client` on the workspace database, closed (with its engine) on exit."""
    engine = make_engine(ws.database_url)
    try:
        with shared_wecom_client(ws, engine) as client:
            yield client
    finally:
        engine.dispose()


def _outbox_file(ws: Workspace, day: date | None) -> Path:
    return ws.dir("outbox") / (f"outbox-{day.isoformat()}.jsonl" if day else "outbox.jsonl")


Built = tuple[Channel, Callable[[], None] | None]  # the channel and what closes it


class ChannelCache:
    """Channels built once per configuration; `close()` releases their connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, ...], Built] = {}

    def __len__(self) -> int:
        return len(self._channels)

    def get(
        self, name: str, ws: Workspace, *, day: date | None = None, stream: TextIO | None = None
    ) -> Channel:
        """The channel `name` configured from `ws` (built on first use)."""
        key, build = _recipe(name, ws, day, stream)
        if key is None:  # nothing worth sharing
            return build()[0]
        with self._lock:
            if key not in self._channels:
                self._channels[key] = build()
            return self._channels[key][0]

    def close(self) -> None:
        """Close every cached channel's connections and forget them all."""
        with self._lock:
            built, self._channels = list(self._channels.values()), {}
        for _, closer in built:
            if closer is not None:
                closer()


def _recipe(
    name: str, ws: Workspace, day: date | None, stream: TextIO | None
) -> tuple[tuple[str, ...] | None, Callable[[], Built]]:
    """The cache key of a channel and how to build it (settings are checked here, at once)."""
    settings: Settings = ws.settings
    if name == "console":
        return (None if stream else (name,)), lambda: (ConsoleChannel(stream), None)
    if name == "outbox":
        path = _outbox_file(ws, day)
        return (name, str(path)), lambda: (OutboxChannel(path), None)
    if name == "tasklist":
        folder = ws.dir("tasks")
        return (name, str(folder)), lambda: (TaskListChannel(folder), None)
    if name == "robot":
        robots, base = _robot_keys(ws), settings.robot_base_url
        fingerprint = _digest(*(f"{n}={k}" for n, k in sorted(robots.items())))

        def robot() -> Built:
            # The pace is kept in the workspace database, shared by every process posting
            # through these robots (`sop serve` runs each flow run in its own process).
            engine = make_engine(ws.database_url)
            limiter = DatabaseWindowLimiter(engine, ROBOT_LIMIT_PER_MINUTE, 60.0)
            secrets = configured_secrets(settings)
            channel = RobotWebhookChannel(robots, base_url=base, limiter=limiter, secrets=secrets)

            def close() -> None:
                channel.close()
                engine.dispose()

            return channel, close

        return (name, base, fingerprint, _digest(ws.database_url), _secrets_digest(settings)), robot
    if name == MASS_SEND:
        (corp_id, secret), base = wecom_credentials(ws), settings.wecom_base_url

        def mass() -> Built:
            engine = make_engine(ws.database_url)
            client = shared_wecom_client(ws, engine)
            cap = settings.wecom_mass_cap

            def close() -> None:
                client.close()
                engine.dispose()

            return WeComMassSendChannel(client, cap_rule=cap), close

        key = (name, base, corp_id, _digest(secret), _secrets_digest(settings))
        return (*key, settings.wecom_mass_cap), mass
    raise ChannelError(f"unknown channel {name!r}: use one of {', '.join(CHANNELS)}")


_CACHE = ChannelCache()


def build_channel(
    name: str, ws: Workspace, *, day: date | None = None, stream: TextIO | None = None
) -> Channel:
    """The configured channel for a group's channel name (one instance per process and config).

    Raises ChannelNotConfigured naming the setting to set when credentials are missing.
    """
    return _CACHE.get(name, ws, day=day, stream=stream)


def close_channels() -> None:
    """Release the HTTP connections of every channel `build_channel` made in this process."""
    _CACHE.close()


@dataclass
class ConfirmReport:
    """What one poll of WeCom mass sends found, as lists of ledger keys."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    awaiting: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # key -> why it cannot be polled

    @property
    def checked(self) -> int:
        """How many keys were polled."""
        return len(self.sent) + len(self.failed) + len(self.awaiting)


def pending_mass_sends(session: Session) -> tuple[list[AwaitingSend], dict[str, str]]:
    """Mass sends awaiting their sender's confirmation, and keys that cannot be polled (why).

    The msgid is the ledger row's response id; sender and chat id come from the group registry.
    """
    rows = session.exec(
        select(Delivery)
        .where(Delivery.status == LEDGER_AWAITING, Delivery.channel == MASS_SEND)
        .order_by(col(Delivery.due_at), col(Delivery.key))
    ).all()
    group_ids = sorted({row.group_id for row in rows})
    groups = {
        g.id: g for g in session.exec(select(Group).where(col(Group.id).in_(group_ids))).all()
    }
    pending: list[AwaitingSend] = []
    skipped: dict[str, str] = {}
    for row in rows:
        group = groups.get(row.group_id)
        if not row.response_id:
            skipped[row.key] = "no msgid recorded"
        elif group is None:
            skipped[row.key] = f"group {row.group_id!r} is not registered"
        elif not (group.sender and group.target):
            skipped[row.key] = f"group {row.group_id!r} has no sender or chat id"
        else:
            pending.append(AwaitingSend(row.key, row.response_id, group.sender, group.target))
    return pending, skipped


def confirm_mass_sends(
    ws: Workspace,
    session: Session,
    now: datetime,
    *,
    pending: Sequence[AwaitingSend] | None = None,
) -> ConfirmReport:
    """Poll WeCom for mass sends awaiting confirmation and record their fates in `session`.

    The caller commits. Pass `pending` (from `pending_mass_sends` in an earlier, closed
    session) so no database transaction stays open while WeCom is polled.
    """
    report = ConfirmReport()
    if pending is None:
        pending, report.skipped = pending_mass_sends(session)
        # End the read before polling: the client shares its token through this database,
        # and an open SQLite transaction would hold the writer lock it needs.
        session.commit()
    if not pending:
        return report
    channel = build_channel(MASS_SEND, ws)
    assert isinstance(channel, WeComMassSendChannel)
    results = channel.confirm(list(pending))
    record_results(session, results, now)
    for result in results:
        bucket = {SENT: report.sent, FAILED: report.failed, AWAITING: report.awaiting}
        bucket.get(result.status, report.awaiting).append(result.key)
    return report
