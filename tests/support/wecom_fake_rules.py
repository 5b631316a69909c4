"""The limits the real WeCom API enforces, as pure checks the fake server applies.

Byte limits, media lifetime, image rules and the mass-message cap periods, from
../shared/wecom-api.md (doc ids [91770], [92135], [96484]). Each check returns the
(errcode, errmsg) WeCom would answer, or None. Where the docs name a limit but not its
errcode the fake answers 45002 (content size out of limit); global codes: 40007 invalid
media_id (unknown or expired), 40004 invalid media type (not JPG/PNG), 40009 invalid image
size (also a wrong md5). Remind/cancel refusals (41063/41064) are the fake's own choice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from calendar import monthrange
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
MEDIA_LIFETIME = 3 * 86400  # a media/upload id is valid for 3 days [96484]
MASS_TEXT_BYTES = 4000
LINK_TITLE_BYTES, LINK_DESC_BYTES, LINK_URL_BYTES = 128, 512, 2048
ROBOT_TEXT_BYTES, ROBOT_MARKDOWN_BYTES = 2048, 4096
NEWS_TITLE_BYTES, NEWS_DESC_BYTES = 128, 512
ROBOT_IMAGE_BYTES = 2 * 1024 * 1024
UPLOAD_IMAGE_BYTES = 10 * 1024 * 1024  # media/upload image; media/uploadimg takes 2 MB
CAP_RULES = ("month", "week", "day")
Refusal = tuple[int, str] | None


def size(text: Any) -> int:
    """UTF-8 bytes of a text value (what WeCom counts)."""
    return len(str(text or "").encode("utf-8"))


def too_long(what: str, text: Any, limit: int) -> Refusal:
    found = size(text)
    return (45002, f"{what} is {found} bytes, limit {limit}") if found > limit else None


def image_kind(raw: bytes) -> str | None:
    """'jpg' or 'png' by magic number, else None."""
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def check_image(raw: bytes, max_bytes: int) -> Refusal:
    if image_kind(raw) is None:
        return 40004, "invalid media type: JPG or PNG only"
    if len(raw) > max_bytes:
        return 40009, f"invalid image size: {len(raw)} bytes, limit {max_bytes}"
    return None


def check_mass_body(body: dict[str, Any], media: dict[str, int], now: int) -> Refusal:
    """The content rules of add_msg_template: text bytes, link lengths, live media ids."""
    refusal = too_long("text.content", (body.get("text") or {}).get("content"), MASS_TEXT_BYTES)
    if refusal:
        return refusal
    for item in body.get("attachments") or []:
        kind = item.get("msgtype")
        if kind == "image":
            image = item.get("image") or {}
            media_id = image.get("media_id")
            if media_id is not None:
                created = media.get(str(media_id))
                if created is None or now - created >= MEDIA_LIFETIME:
                    return 40007, "invalid media_id"
            elif not str(image.get("pic_url") or "").startswith(("http://", "https://")):
                return 40058, "image needs media_id or pic_url"
        elif kind == "link":
            link = item.get("link") or {}
            for name, limit in (
                ("title", LINK_TITLE_BYTES),
                ("desc", LINK_DESC_BYTES),
                ("url", LINK_URL_BYTES),
            ):
                refusal = too_long(f"link.{name}", link.get(name), limit)
                if refusal:
                    return refusal
            if not link.get("title") or not link.get("url"):
                return 40058, "link needs title and url"
    return None


def check_robot_body(kind: str, content: dict[str, Any]) -> Refusal:
    """The content rules of a robot message [91770]."""
    if kind == "text":
        return too_long("text.content", content.get("content"), ROBOT_TEXT_BYTES)
    if kind == "markdown":
        return too_long("markdown.content", content.get("content"), ROBOT_MARKDOWN_BYTES)
    if kind == "image":
        try:
            raw = base64.b64decode(str(content.get("base64", "")), validate=True)
        except (binascii.Error, ValueError):
            return 40009, "invalid image: base64 does not decode"
        refusal = check_image(raw, ROBOT_IMAGE_BYTES)
        if refusal:
            return refusal
        if hashlib.md5(raw).hexdigest() != str(content.get("md5", "")).lower():
            return 40009, "invalid image: md5 does not match the image"
        return None
    if kind == "news":
        articles = content.get("articles") or []
        if not 1 <= len(articles) <= 8:
            return 40058, "news needs 1 to 8 articles"
        for article in articles:
            refusal = too_long("news.title", article.get("title"), NEWS_TITLE_BYTES) or too_long(
                "news.description", article.get("description"), NEWS_DESC_BYTES
            )
            if refusal:
                return refusal
    return None


def cap_period(rule: str, unix: int) -> tuple[tuple[int, ...], int]:
    """The period a send at `unix` counts in, and that period's cap, under an admin rule."""
    at = datetime.fromtimestamp(unix, CST)
    if rule == "day":
        return (at.year, at.month, at.day), 1
    if rule == "week":
        year, week, _ = at.isocalendar()
        return (year, week), 7
    return (at.year, at.month), monthrange(at.year, at.month)[1]


def multipart_file(content_type: str, raw: bytes) -> bytes | None:
    """The first file part of a multipart/form-data body (the `media` field)."""
    if not content_type.startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    for part in message.iter_parts():
        if part.get_filename() is not None:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
