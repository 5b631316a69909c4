"""WeCom client state shared through the database: the access_token and 45009 blocks.

N workers on N machines that each fetched their own token would make N `gettoken` calls and
invalidate nothing, but WeCom counts them against the corp; a 45009 (frequency limit) blocks
an API for the whole corp, so a worker that keeps calling it after another was refused only
adds refused calls. Both facts live in the workspace database (SQLite or PostgreSQL), so
every process and host that shares it shares them.

- `DatabaseTokenCache`: one row per (base URL, corp id, secret digest), keyed by a hash. A
  process that finds no valid token claims a short fetch lease (compare-and-set under the
  database's writer lock: SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), fetches
  outside any transaction and stores the token; the others wait for it and reuse it until it
  expires. `drop(token)` clears it only if it is still the stored one (40014/42001); each
  process keeps the token it read until then, so a renewal costs it one refused call.
- `DatabaseBlockBoard`: when any process gets a 45009 on an API, that API of that corp is
  marked blocked for `block_seconds`; the others see it within a second (`refresh`) and wait
  out the block before calling it.

The token is stored sealed (Fernet, with a key derived from the corp secret that every worker
holds and the database never does): a database dump or backup carries no usable token.
Expiry times use the wall clock (`time.time`): it is the one clock processes agree on.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, text, update
from sqlmodel import Field, Session, SQLModel

from engine.wecom.client import Clock, TokenKey

LEASE_SECONDS = 30.0  # a fetch lease older than this is abandoned (its holder died)
POLL_SECONDS = 0.05


class WeComToken(SQLModel, table=True):
    """The shared access_token of one corp app, or a lease on fetching it."""

    __tablename__ = "wecom_tokens"

    key: str = Field(primary_key=True)  # a hash of base URL, corp id and secret digest
    token: str | None = None  # sealed with the corp secret (Fernet), never in clear
    expires_at: float = 0.0  # wall-clock seconds, margin already taken off
    lease_owner: str | None = None
    lease_until: float = 0.0


class WeComBlock(SQLModel, table=True):
    """An API of a corp refused with 45009 until `until` (wall-clock seconds)."""

    __tablename__ = "wecom_blocks"

    key: str = Field(primary_key=True)  # a hash of base URL, corp id and API path
    until: float = 0.0


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def _lock(session: Session, key: str) -> None:
    """Serialise writers of `key` for the rest of the transaction (SQLite: already locked)."""
    if session.get_bind().dialect.name == "postgresql":
        lock = int(key[:15], 16)  # fits a signed 64-bit advisory lock key
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})


def _sealer(secret: str) -> Fernet:
    digest = hashlib.sha256(b"sopflow wecom token\0" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class DatabaseTokenCache:
    """Access tokens shared by every process on one database; one `gettoken` per expiry.

    `secret` (the corp secret of the tokens it keeps) seals them in the database.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        secret: str,
        sleep: Callable[[float], None] = time.sleep,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.engine = engine
        self._seal = _sealer(secret)
        self._memo: dict[str, tuple[str, float]] = {}  # hashed key -> (token, expires_at)
        self._sleep = sleep
        self.lease_seconds = lease_seconds
        self._me = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"DatabaseTokenCache({self.engine.url.render_as_string(hide_password=True)})"

    def get(self, key: TokenKey, now: float) -> str | None:
        """The stored token for `key` if it is still inside its lifetime at `now`.

        A token read once is kept in this process until it expires or is dropped: a token
        another process renewed meanwhile shows here as one 40014, after which `drop` reads
        the new one (one refused call per process, instead of a database read per call).
        """
        hashed = _hash(*key)
        memo = self._memo.get(hashed)
        if memo is not None and now < memo[1]:
            return memo[0]
        with Session(self.engine) as session:
            row = session.get(WeComToken, hashed)
            if not (row and row.token and now < row.expires_at):
                return None
            value = self._open(row.token)
            if value:
                self._memo[hashed] = (value, row.expires_at)
            return value

    def _open(self, sealed: str) -> str | None:
        try:
            return self._seal.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None  # sealed with another secret: as good as absent

    def obtain(self, key: TokenKey, clock: Clock, fetch: Callable[[], tuple[str, float]]) -> str:
        """The stored token, or one fetched by this process (`fetch` -> value, expires_at)
        while the others wait for it."""
        hashed = _hash(*key)
        while True:
            found, claimed = self._claim(hashed, clock())
            if found:
                return found
            if claimed:
                break
            self._sleep(POLL_SECONDS)
        try:
            value, expires_at = fetch()
        except BaseException:
            self._release(hashed)
            raise
        self._memo[hashed] = (value, expires_at)
        with Session(self.engine) as session:
            _lock(session, hashed)
            session.execute(
                update(WeComToken)
                .where(WeComToken.key == hashed)  # type: ignore[arg-type]
                .values(
                    token=self._seal.encrypt(value.encode("utf-8")).decode("ascii"),
                    expires_at=expires_at,
                    lease_owner=None,
                    lease_until=0.0,
                )
            )
            session.commit()
        return value

    def _claim(self, hashed: str, now: float) -> tuple[str | None, bool]:
        """(a valid stored token, None) or (None, whether this process now holds the lease)."""
        wall = time.time()
        with Session(self.engine) as session:
            _lock(session, hashed)
            row = session.get(WeComToken, hashed)
            found = self._open(row.token) if row and row.token and now < row.expires_at else None
            if found:
                return found, False
            if row is not None and row.lease_owner and row.lease_until > wall:
                return None, row.lease_owner == self._me
            row = row or WeComToken(key=hashed)
            row.lease_owner, row.lease_until = self._me, wall + self.lease_seconds
            session.add(row)
            session.commit()
            return None, True

    def _release(self, hashed: str) -> None:
        with Session(self.engine) as session:
            _lock(session, hashed)
            session.execute(
                update(WeComToken)
                .where(WeComToken.key == hashed, WeComToken.lease_owner == self._me)  # type: ignore[arg-type]
                .values(lease_owner=None, lease_until=0.0)
            )
            session.commit()

    def drop(self, key: TokenKey, value: str) -> None:
        """Forget `value` if it is still the stored token (another process may have renewed)."""
        hashed = _hash(*key)
        if self._memo.get(hashed, ("", 0.0))[0] == value:
            del self._memo[hashed]
        with Session(self.engine) as session:
            _lock(session, hashed)
            row = session.get(WeComToken, hashed)
            if row is not None and row.token and self._open(row.token) == value:
                row.token, row.expires_at = None, 0.0
                session.add(row)
            session.commit()


class DatabaseBlockBoard:
    """45009 blocks per (corp, API) shared by every process on one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        block_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        refresh: float = 1.0,
    ) -> None:
        self.engine = engine
        self.block_seconds = block_seconds
        self.refresh = refresh  # seconds an answer is reused before the database is asked again
        self._clock = clock
        self._seen: dict[str, tuple[float, float]] = {}  # hashed scope -> (asked at, until)

    def __repr__(self) -> str:
        return f"DatabaseBlockBoard(block_seconds={self.block_seconds})"

    def blocked_for(self, scope: tuple[str, str, str]) -> float:
        """Seconds until `scope` (base URL, corp id, API) may be called again (0: now)."""
        hashed, now = _hash(*scope), self._clock()
        asked_at, until = self._seen.get(hashed, (float("-inf"), 0.0))
        if now - asked_at >= self.refresh:  # a block met elsewhere shows within `refresh`
            with Session(self.engine) as session:
                row = session.get(WeComBlock, hashed)
                until = row.until if row else 0.0
            self._seen[hashed] = (now, until)
        return max(0.0, until - now)

    def block(self, scope: tuple[str, str, str]) -> None:
        """Record that WeCom refused `scope` with 45009 just now."""
        hashed = _hash(*scope)
        until = self._clock() + self.block_seconds
        with Session(self.engine) as session:
            _lock(session, hashed)
            row = session.get(WeComBlock, hashed) or WeComBlock(key=hashed)
            row.until = max(row.until, until)
            session.add(row)
            session.commit()
        self._seen[hashed] = (self._clock(), until)
