"""The body of a customer-group mass send: text and attachments, inside WeCom's limits.

A stored media id is refused (it expires after 3 days [96484]): an image file is uploaded
at send time through the channel's media cache, or a permanent URL (`image_pic_url`, e.g.
from `media/uploadimg`) goes as `pic_url`. Texts are checked against the byte limits of
sop_models.wecom_limits again, after rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.channels.content import (
    ContentError,
    check_bytes,
    check_image,
    news_article,
    read_image,
)
from sop_models.actions import PlannedAction
from sop_models.wecom_limits import MASS_TEXT_BYTES

MediaIds = Callable[[bytes], str]
UPLOAD_IMAGE_BYTES = 10 * 1024 * 1024  # media/upload takes images up to 10 MB


def mass_content(
    action: PlannedAction, media: MediaIds | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """(text, attachments) of an action; see engine.channels.content for `extra` keys.

    Markdown goes out as plain text: customer groups do not render it. An image file is
    uploaded through `media` (bytes -> a fresh media id); a stored media id is refused.
    """
    extra = action.extra
    attachments: list[dict[str, Any]] = []
    if extra.get("image_media_id"):
        raise ContentError(
            f"{action.key}: extra.image_media_id is refused: a WeCom media id expires after "
            "3 days; give the image file (image_path) or a permanent URL (image_pic_url)"
        )
    if extra.get("image_pic_url"):
        attachments.append({"msgtype": "image", "image": {"pic_url": extra["image_pic_url"]}})
    elif extra.get("image_path") and media is not None:
        raw = read_image(action)
        check_image(action, raw, UPLOAD_IMAGE_BYTES)
        attachments.append({"msgtype": "image", "image": {"media_id": media(raw)}})
    elif action.msgtype == "image":
        raise ContentError(f"{action.key}: an image mass send needs extra.image_path or pic_url")
    if action.msgtype == "news" or extra.get("news_url"):
        article = news_article(action)
        link = {"title": article["title"], "desc": article["description"], "url": article["url"]}
        if "picurl" in article:
            link["picurl"] = article["picurl"]
        attachments.append({"msgtype": "link", "link": link})
    text = "" if action.msgtype in ("news", "image") else action.text
    if not text.strip() and not attachments:
        raise ContentError(f"{action.key}: empty message")
    check_bytes(action, "mass send text", text, MASS_TEXT_BYTES)
    return text, attachments
