"""WeCom's byte limits on message texts, and the check `sop validate` runs on templates.

WeCom counts UTF-8 bytes (a Chinese character is 3): a customer-group mass text takes at
most 4,000 bytes [92135], a link card's title 128, its description 512 and its URL 2,048;
a group robot text 2,048 and markdown 4,096 [91770]. A template body can only grow when
rendered, so a literal already over a limit is reported at validation with its field path;
channels check the rendered text again before sending.
"""

from __future__ import annotations

from typing import Any

MASS_TEXT_BYTES = 4000
ROBOT_TEXT_BYTES, ROBOT_MARKDOWN_BYTES = 2048, 4096
NEWS_TITLE_BYTES, NEWS_DESC_BYTES, LINK_URL_BYTES = 128, 512, 2048

# msgtype -> field -> (limit, what WeCom calls it); text goes to both channels: the
# larger mass limit is the hard one, robots are checked at send time.
TEMPLATE_LIMITS: dict[str, dict[str, tuple[int, str]]] = {
    "text": {"body": (MASS_TEXT_BYTES, "text")},
    "markdown": {"body": (ROBOT_MARKDOWN_BYTES, "markdown")},
    "news": {
        "title": (NEWS_TITLE_BYTES, "news title"),
        "body": (NEWS_DESC_BYTES, "news description"),
        "url": (LINK_URL_BYTES, "news url"),
    },
}


def byte_size(text: str) -> int:
    """UTF-8 bytes of `text` (what WeCom counts)."""
    return len(text.encode("utf-8"))


def over_limit(what: str, text: str, limit: int) -> str | None:
    """A one-line problem if `text` is over `limit` bytes, else None."""
    size = byte_size(text)
    if size <= limit:
        return None
    return f"{what} is {size} bytes, WeCom takes at most {limit} (a Chinese character is 3)"


def template_limit_problems(templates: Any) -> list[tuple[str, str]]:
    """(field path, problem) for template texts over WeCom's byte limits."""
    found: list[tuple[str, str]] = []
    if not isinstance(templates, list | tuple):
        return found
    for index, tpl in enumerate(templates):
        if not isinstance(tpl, dict):
            continue
        limits = TEMPLATE_LIMITS.get(str(tpl.get("msgtype") or "text"), {})
        for field, (limit, what) in limits.items():
            text = tpl.get(field)
            problem = over_limit(what, text, limit) if isinstance(text, str) else None
            if problem:
                found.append((f"templates[{index}].{field}", problem))
    return found
