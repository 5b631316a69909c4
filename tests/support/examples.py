"""The example SOPs under `examples/`, as text or as documents, and edited copies of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sop_models import SopDocument, load_document, parse_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_text(name: str) -> str:
    """Text of an example SOP, e.g. `mombaby-refined`."""
    return (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")


def example(name: str) -> SopDocument:
    """An example SOP loaded as a document."""
    return load_document(EXAMPLES / f"{name}.yaml")


def modified(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """A valid SOP text with `change` applied to its data."""
    data = parse_document(text).model_dump(mode="json", exclude_none=True)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def moved_posts(data: dict[str, Any]) -> None:
    """Mombaby as `mombaby-moved`, with posts the planner moves off their written times: a
    23:00 column (deferred to 08:00 by the quiet hours), an 08:10 one that gives way to it
    (shifted to 08:30) and a 15:10 one that gives way to the 15:00 topic (to 15:30)."""
    data["id"] = "mombaby-moved"
    topic = {"template": "topic", "content_tag": "202503 促活-妈妈话题-图文"}
    data["schedule"]["columns"] += [
        {"id": "night", "name": "夜读", "time": "23:00", "priority": 5, **topic},
        {"id": "early", "name": "早读", "time": "08:10", "priority": -1, **topic},
        {"id": "tip", "name": "小贴士", "time": "15:10", "priority": -1, **topic},
    ]
