"""How non-text messages travel in a PlannedAction: well-known keys of `action.extra`.

    image_path        a local image file (robot: base64 + md5; mass send: uploaded at send time)
    image_base64      the image itself, base64 (robot); image_md5 optional, computed if absent
    image_media_id    refused: a media id lives 3 days, so it is never stored in an SOP
    image_pic_url     an image URL on WeCom's CDN (mass send attachment)
    news_url          the article link (robot news, mass send link attachment); required
    news_title        defaults to the first line of action.text
    news_description  defaults to the rest of action.text
    news_picurl       optional cover image URL
    mentioned_list    robot text: comma-separated user ids to @ ("@all" for everyone)
    mentioned_mobile_list  robot text: comma-separated mobile numbers to @

Byte limits follow sop_models.wecom_limits (checked at `sop validate` too); robot images
must be JPG or PNG of at most 2 MB, and a given image_md5 must be the md5 of the bytes.
A missing required key or a broken limit raises ContentError (a ChannelError, defined in
`sop_models.errors`); channels turn it into a failed result with that one-line reason, and
nothing is sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from sop_models import wecom_limits
from sop_models.actions import PlannedAction
from sop_models.errors import ContentError

ROBOT_IMAGE_BYTES = 2 * 1024 * 1024


def check_bytes(action: PlannedAction, what: str, text: str, limit: int) -> None:
    """ContentError when `text` is over `limit` UTF-8 bytes."""
    problem = wecom_limits.over_limit(what, text, limit)
    if problem:
        raise ContentError(f"{action.key}: {problem}")


def image_type(raw: bytes) -> str | None:
    """'jpg' or 'png' by the file's magic number, else None."""
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def check_image(action: PlannedAction, raw: bytes, max_bytes: int) -> None:
    """ContentError unless `raw` is a JPG or PNG of at most `max_bytes`."""
    if image_type(raw) is None:
        raise ContentError(f"{action.key}: the image must be a JPG or PNG file")
    if len(raw) > max_bytes:
        raise ContentError(f"{action.key}: the image is {len(raw)} bytes, at most {max_bytes}")


def split_list(value: str | None) -> list[str]:
    """A comma-separated extra value as a list (empty items dropped)."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def news_article(action: PlannedAction) -> dict[str, str]:
    """The article of a news action: title, description, url, picurl."""
    url = action.extra.get("news_url", "")
    if not url:
        raise ContentError(f"{action.key}: a news message needs extra.news_url")
    first, _, rest = action.text.strip().partition("\n")
    article = {
        "title": action.extra.get("news_title") or first or url,
        "description": action.extra.get("news_description") or rest.strip(),
        "url": url,
    }
    if action.extra.get("news_picurl"):
        article["picurl"] = action.extra["news_picurl"]
    check_bytes(action, "news title", article["title"], wecom_limits.NEWS_TITLE_BYTES)
    check_bytes(action, "news description", article["description"], wecom_limits.NEWS_DESC_BYTES)
    check_bytes(action, "news url", url, wecom_limits.LINK_URL_BYTES)
    return article


def read_image(action: PlannedAction) -> bytes:
    """The bytes of extra.image_path (ContentError naming the file if it cannot be read)."""
    path = Path(action.extra.get("image_path", ""))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ContentError(f"{action.key}: cannot read image {path}: {exc.strerror}") from None


def image_payload(action: PlannedAction) -> dict[str, str]:
    """`{"base64", "md5"}` of an image action, from extra.image_base64 or extra.image_path."""
    encoded = action.extra.get("image_base64", "")
    if encoded:
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ContentError(f"{action.key}: extra.image_base64 is not valid base64") from None
    elif action.extra.get("image_path"):
        raw = read_image(action)
        encoded = base64.b64encode(raw).decode("ascii")
    else:
        raise ContentError(f"{action.key}: an image message needs extra.image_path or image_base64")
    check_image(action, raw, ROBOT_IMAGE_BYTES)
    md5 = hashlib.md5(raw).hexdigest()
    given = action.extra.get("image_md5")
    if given and given.lower() != md5:
        raise ContentError(f"{action.key}: extra.image_md5 is not the md5 of the image")
    return {"base64": encoded, "md5": md5}
