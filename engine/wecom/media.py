"""Images for mass sends [96484]: a `media/upload` id lives 3 days, a `media/uploadimg` URL lasts.

A media id must never be stored in an SOP: `MediaCache` uploads the image's bytes when a
send needs them and reuses the id for at most `reuse` seconds (2 days by default, well
inside the 3-day lifetime, so an id is never sent on its last day).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.wecom.client import WeComClient

UPLOAD = "media/upload"
UPLOAD_IMAGE = "media/uploadimg"
MEDIA_LIFETIME = 3 * 86400.0
DEFAULT_REUSE = 2 * 86400.0
MIME = {"png": "image/png", "jpg": "image/jpeg"}


def _mime(raw: bytes) -> tuple[str, str]:
    kind = "png" if raw.startswith(b"\x89PNG") else "jpg"
    return f"image.{kind}", MIME[kind]


def upload_image(client: WeComClient, raw: bytes) -> str:
    """A temporary media id (valid 3 days) for an image's bytes."""
    name, mime = _mime(raw)
    reply = client.call(
        UPLOAD, {"type": "image"}, idempotent=True, files={"media": (name, raw, mime)}
    )
    return str(reply.payload.get("media_id", ""))


def upload_permanent_image(client: WeComClient, raw: bytes) -> str:
    """A lasting image URL on WeCom's CDN (`media/uploadimg`, at most 2 MB)."""
    name, mime = _mime(raw)
    reply = client.call(UPLOAD_IMAGE, None, idempotent=True, files={"media": (name, raw, mime)})
    return str(reply.payload.get("url", ""))


@dataclass(frozen=True)
class _Uploaded:
    media_id: str
    at: float


class MediaCache:
    """Media ids by image content, uploaded on first use and again once `reuse` has passed."""

    def __init__(
        self, client: WeComClient, *, clock: Callable[[], float], reuse: float = DEFAULT_REUSE
    ) -> None:
        if not 0 < reuse < MEDIA_LIFETIME:
            raise ValueError(f"reuse must be under the 3-day media lifetime, got {reuse}")
        self._client, self._clock, self._reuse = client, clock, reuse
        self._lock = threading.Lock()
        self._ids: dict[str, _Uploaded] = {}

    def media_id(self, raw: bytes) -> str:
        """A media id for `raw` uploaded less than `reuse` seconds ago."""
        digest = hashlib.sha256(raw).hexdigest()
        now = self._clock()
        with self._lock:
            found = self._ids.get(digest)
            if found and now - found.at < self._reuse:
                return found.media_id
        media_id = upload_image(self._client, raw)
        with self._lock:
            self._ids[digest] = _Uploaded(media_id, now)
        return media_id
