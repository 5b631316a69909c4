"""WeCom server API client: access_token handling around the transport's retry rules.

Settings (corpid, corpsecret, base_url) come in as constructor arguments; the wiring layer
reads them from its configuration. The secret and the tokens never appear in reprs, errors
or logs: they join the client's `Secrets` (given by the wiring layer with every other
configured secret, or its own), which masks them in every error the client raises.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from engine.wecom.errors import Secrets, WeComApiError, WeComRateLimited, WeComTokenRejected
from engine.wecom.transport import (
    DEFAULT_BASE_URL,
    FREQUENCY_LIMITED,
    Reply,
    RetryPolicy,
    Sleep,
    Transport,
)

TOKEN_LIFETIME = 7200  # seconds, as documented; the answer's expires_in wins
Clock = Callable[[], float]
TokenKey = tuple[str, str, str]  # base URL, corp id, secret digest
BlockScope = tuple[str, str, str]  # base URL, corp id, API path


class TokenStore(Protocol):
    """Where clients keep access tokens: this process (TokenCache) or the database."""

    def get(self, key: TokenKey, now: float) -> str | None: ...

    def obtain(
        self, key: TokenKey, clock: Clock, fetch: Callable[[], tuple[str, float]]
    ) -> str: ...

    def drop(self, key: TokenKey, value: str) -> None: ...


class BlockBoard(Protocol):
    """Where 45009 blocks are shared (engine.wecom.shared_state.DatabaseBlockBoard)."""

    def blocked_for(self, scope: BlockScope) -> float: ...

    def block(self, scope: BlockScope) -> None: ...


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Access tokens per (base URL, corpid, secret digest); clients may share one cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], _Token] = {}

    def get(self, key: tuple[str, str, str], now: float) -> str | None:
        """The cached token for `key` if it is still inside its lifetime."""
        with self._lock:
            token = self._tokens.get(key)
            return token.value if token and now < token.expires_at else None

    def put(self, key: tuple[str, str, str], value: str, expires_at: float) -> None:
        """Store a token valid until `expires_at` (clock seconds)."""
        with self._lock:
            self._tokens[key] = _Token(value, expires_at)

    def obtain(self, key: TokenKey, clock: Clock, fetch: Callable[[], tuple[str, float]]) -> str:
        """The cached token, or one `fetch` (-> value, expires_at) made by one thread only."""
        with self._fetch_lock:  # one fetch when several threads find the cache empty
            cached = self.get(key, clock())
            if cached:
                return cached
            value, expires_at = fetch()
            self.put(key, value, expires_at)
            return value

    def drop(self, key: tuple[str, str, str], value: str) -> None:
        """Forget `value` if it is still the cached token (another thread may have renewed)."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.value == value:
                del self._tokens[key]

    def __repr__(self) -> str:
        return f"TokenCache({len(self._tokens)} token(s))"


class WeComClient:
    """Calls WeCom server APIs with a cached access_token.

    `sleep` and `clock` are injectable so tests control backoff and token expiry; `retry`
    bounds the backoff on 45009/45033/-1 and on connection failures. `secrets` (shared with
    the channel that owns the client) gets the corp secret and every token fetched.
    `token_cache` may be shared by clients of one process (TokenCache) or of every process
    on a database (shared_state.DatabaseTokenCache: give it `clock=time.time`); `blocks`
    (shared_state.DatabaseBlockBoard) shares 45009 blocks: every client waits them out.
    """

    def __init__(
        self,
        *,
        corpid: str,
        corpsecret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        token_cache: TokenStore | None = None,
        blocks: BlockBoard | None = None,
        token_margin: float = 300.0,
        http: httpx.Client | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        self.corpid = corpid
        self._secret = corpsecret
        self._secrets = secrets if secrets is not None else Secrets()
        self._secrets.add(corpsecret)
        self._clock = clock
        self._margin = token_margin
        self._cache: TokenStore = token_cache or TokenCache()
        self._blocks = blocks
        self._sleep = sleep
        self._transport = Transport(
            base_url,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            http=http,
            on_block=None if blocks is None else self._record_block,
        )
        digest = hashlib.sha256(corpsecret.encode()).hexdigest()[:16]
        self._key = (self._transport.base_url, corpid, digest)

    def __repr__(self) -> str:
        return f"WeComClient(corpid={self.corpid!r}, base_url={self._transport.base_url!r})"

    def __enter__(self) -> WeComClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections."""
        self._transport.close()

    @property
    def secrets(self) -> Secrets:
        """The values masked in this client's errors: corp secret, tokens, and any given."""
        return self._secrets

    @property
    def base_url(self) -> str:
        """The API base URL every path is joined to."""
        return self._transport.base_url

    def access_token(self) -> str:
        """A valid access_token: the cached one, or a new one from `gettoken`."""
        cached = self._cache.get(self._key, self._clock())
        if not cached:
            cached = self._cache.obtain(self._key, self._clock, self._fetch_token)
        self._secrets.add(cached)  # the cache may be shared: another client fetched it
        return cached

    def _fetch_token(self) -> tuple[str, float]:
        reply = self._transport.request(
            "GET",
            "gettoken",
            params={"corpid": self.corpid, "corpsecret": self._secret},
            idempotent=True,
            secrets=self._secrets,
        )
        value = str(reply.payload.get("access_token", ""))
        if not value:
            raise WeComApiError("gettoken", 0, "answer carries no access_token")
        self._secrets.add(value)
        lifetime = float(reply.payload.get("expires_in") or TOKEN_LIFETIME)
        margin = min(self._margin, lifetime / 2)
        return value, self._clock() + lifetime - margin

    def _scope(self, api: str) -> BlockScope:
        return (self._transport.base_url, self.corpid, api)

    def _record_block(self, api: str) -> None:
        if self._blocks is not None:
            self._blocks.block(self._scope(api))

    def _wait_out_block(self, api: str) -> None:
        """Wait while another process's 45009 blocks `api`; raise if longer than one block."""
        if self._blocks is None:
            return
        wait = self._blocks.blocked_for(self._scope(api))
        if wait <= 0:
            return
        if wait > self._transport.retry.block_wait:
            raise WeComRateLimited(
                api, FREQUENCY_LIMITED, "blocked (shared)", attempts=0, retry_after=wait
            )
        self._sleep(wait)

    def call(
        self,
        api: str,
        body: Mapping[str, Any] | None = None,
        *,
        method: str = "POST",
        idempotent: bool,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Reply:
        """Call `api` (a path under the base URL) with the access_token.

        On 40014/42001 the token is fetched again and the call retried once; a second
        rejection raises WeComTokenRejected. Pass `idempotent=False` for calls that create
        something, so a lost answer raises DeliveryOutcomeUnknown instead of a resend.
        `files` (field -> (name, bytes, type)) sends a multipart upload instead of JSON;
        `query` adds URL parameters beside the token (e.g. `auth/getuserinfo`'s `code`).
        """
        self._wait_out_block(api)
        token = self.access_token()
        try:
            return self._send(method, api, body, token, idempotent, files, query)
        except WeComTokenRejected as first:
            self._cache.drop(self._key, token)
            reply = self._send(method, api, body, self.access_token(), idempotent, files, query)
            return Reply(reply.payload, reply.attempts + first.attempts)

    def _send(
        self,
        method: str,
        api: str,
        body: Mapping[str, Any] | None,
        token: str,
        idempotent: bool,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Reply:
        params = {**(query or {}), "access_token": token}
        if files:
            params.update({k: str(v) for k, v in (body or {}).items()})
        return self._transport.request(
            method,
            api,
            params=params,
            body=None if files else body,
            idempotent=idempotent,
            secrets=self._secrets,
            files=files,
        )
