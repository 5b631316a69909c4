"""Images of hand posts for the phone page, where the plan has them.

The ledger keeps no message content, so the post is planned again for its SOP version, group
and day (`services.planning`) and its extras read: an image message's `image_path` (a file
under the workspace, served by the console) or `image_pic_url`, or a news card's
`news_picurl`. A served file must lie inside the workspace and be a JPG or PNG by its bytes,
so an SOP cannot make the console hand out any other file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from urllib.parse import quote

from engine.channels.content import image_type
from services.planning import plan_window
from services.workspace import Workspace
from sop_models.errors import SopflowError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
Post = tuple[str, str, str, str]  # key, sop id, version, group id


def planned_extras(ws: Workspace, posts: Iterable[Post], day: date) -> dict[str, dict[str, str]]:
    """Key -> the planned action's extras for posts due on local `day` (planned per SOP
    version and group; a post that cannot be planned again gets none)."""
    by_plan: dict[tuple[str, str, str], set[str]] = {}
    for key, sop_id, version, group_id in posts:
        by_plan.setdefault((sop_id, version, group_id), set()).add(key)
    found: dict[str, dict[str, str]] = {}
    for (sop_id, version, group_id), keys in by_plan.items():
        try:
            plan = plan_window(
                ws, sop_id=sop_id, ref=version, start=day, end=day, group_ids=[group_id]
            )
        except SopflowError:
            continue
        found.update({a.key: dict(a.extra) for a in plan.actions if a.key in keys})
    return found


def image_link(key: str, extra: dict[str, str]) -> str:
    """Where the phone page finds a post's image: the console's own URL for a workspace
    file, else the image URL; empty when the post has no image."""
    if extra.get("image_path"):
        return f"/tasks/image?key={quote(key, safe='')}"
    return extra.get("image_pic_url") or extra.get("news_picurl") or ""


def image_file(ws: Workspace, extra: dict[str, str]) -> tuple[bytes, str] | None:
    """The bytes and media type of a post's `image_path`, if it is a JPG/PNG in the workspace."""
    where = extra.get("image_path", "")
    if not where:
        return None
    root = ws.root.resolve()
    path = (root / Path(where)).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    if path.stat().st_size > MAX_IMAGE_BYTES:
        return None
    raw = path.read_bytes()
    kind = image_type(raw)
    return (raw, MEDIA_TYPES[kind]) if kind else None
