"""How non-text messages travel in a PlannedAction: well-known keys of `action.extra`.

    image_path        a local image file (robot: sent as base64 + md5)
    image_base64      the image itself, base64 (robot); image_md5 optional, computed if absent
    image_media_id    an uploaded WeCom media id (mass send attachment)
    image_pic_url     an image URL on WeCom's CDN (mass send attachment)
    news_url          the article link (robot news, mass send link attachment); required
    news_title        defaults to the first line of action.text
    news_description  defaults to the rest of action.text
    news_picurl       optional cover image URL
    mentioned_list    robot text: comma-separated user ids to @ ("@all" for everyone)
    mentioned_mobile_list  robot text: comma-separated mobile numbers to @

A missing required key raises ContentError (a ChannelError, defined in `sop_models.errors`);
channels turn it into a failed result with that one-line reason, and nothing is sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from sop_models.actions import PlannedAction
from sop_models.errors import ContentError


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
    return article


def image_payload(action: PlannedAction) -> dict[str, str]:
    """`{"base64", "md5"}` of an image action, from extra.image_base64 or extra.image_path."""
    encoded = action.extra.get("image_base64", "")
    if encoded:
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ContentError(f"{action.key}: extra.image_base64 is not valid base64") from None
    elif action.extra.get("image_path"):
        path = Path(action.extra["image_path"])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ContentError(f"{action.key}: cannot read image {path}: {exc.strerror}") from None
        encoded = base64.b64encode(raw).decode("ascii")
    else:
        raise ContentError(f"{action.key}: an image message needs extra.image_path or image_base64")
    md5 = action.extra.get("image_md5") or hashlib.md5(raw).hexdigest()
    return {"base64": encoded, "md5": md5}
