"""A minimal edit of an SOP document's text: put content-calendar rows into its slots.

ruamel.yaml's round-trip mode changes only what it is told to: comments, key order, flow
style, quoting and Chinese spellings (促活, 工作日) of the rest of the document stay as the
author wrote them, and the indentation is the file's own (guessed from its text). The caller
validates the result before writing it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.util import load_yaml_guess_indent

# Any date subclass (a library's or a test clock's) is written as a plain YAML date too.
RoundTripRepresenter.add_multi_representer(date, RoundTripRepresenter.represent_date)


def _node(data: Any, slot: str) -> CommentedMap:
    """The mapping of `slot` (`columns.ID` or `campaigns.ID.ACTION`) in round-trip data."""
    parts = slot.split(".")
    if parts[0] == "columns":
        items, ident = data["schedule"]["columns"], parts[1]
    else:
        campaign = next(c for c in data["playbooks"]["campaigns"] if c.get("id") == parts[1])
        items, ident = campaign["actions"], parts[2]
    return next(item for item in items if item.get("id") == ident)  # type: ignore[no-any-return]


def _mapping_indent(text: str) -> int:
    """The indent of the first key nested under a top-level key (2 when there is none)."""
    lines = text.splitlines()
    for above, line in itertools.pairwise(lines):
        nested = line.lstrip(" ")
        top = above.rstrip()
        if top.endswith(":") and not above.startswith((" ", "#", "-")) and nested[:1].isalnum():
            return len(line) - len(nested)
    return 2


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def merge_schedules(text: str, rows: Mapping[str, Mapping[date, str]]) -> str:
    """`text` with each slot's `content.schedule` merged with `rows` (slot -> date -> tag; a
    date already scheduled takes the new tag), everything else as it was."""
    _, sequence, offset = load_yaml_guess_indent(text)
    yaml = YAML()  # round-trip
    yaml.indent(mapping=_mapping_indent(text), sequence=sequence or 2, offset=offset or 0)
    yaml.width = 4096  # never re-wrap the author's long lines
    yaml.preserve_quotes = True
    data = yaml.load(text)
    for slot, entries in rows.items():
        node = _node(data, slot)
        content = node.get("content")
        if content is None:
            content = CommentedMap()
            node["content"] = content
        schedule = content.get("schedule")
        if schedule is None:
            schedule = CommentedSeq()
            content.insert(0, "schedule", schedule)  # the first rule the planner reads
        for day, tag in sorted(entries.items()):
            same = next((e for e in schedule if _day(e.get("date")) == day), None)
            if same is not None:
                same["tag"] = tag
                continue
            entry = CommentedMap([("date", day), ("tag", tag)])
            at = next((i for i, e in enumerate(schedule) if _day(e.get("date")) > day), None)
            schedule.insert(len(schedule) if at is None else at, entry)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
