"""Semantic diff between two SOP documents (as plain JSON-like data).

Changes are listed by field path (`schedule.columns[2].time`). List items that carry an `id`
are matched by id, so inserting a column does not show every later column as changed. Long
or multi-line texts get a unified line diff as well.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

ChangeKind = Literal["added", "removed", "changed"]
LONG_TEXT = 60


@dataclass(frozen=True)
class Change:
    """One changed field path."""

    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None
    text_diff: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.kind != "added":
            data["before"] = self.before
        if self.kind != "removed":
            data["after"] = self.after
        if self.text_diff:
            data["text_diff"] = self.text_diff
        return data


def diff_documents(before: Any, after: Any) -> list[Change]:
    """All changes turning `before` into `after`, in document order."""
    changes: list[Change] = []
    _walk("", before, after, changes)
    return changes


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _walk(path: str, before: Any, after: Any, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in list(before) + [k for k in after if k not in before]:
            sub = _join(path, str(key))
            if key not in after:
                out.append(Change(sub, "removed", before=before[key]))
            elif key not in before:
                out.append(Change(sub, "added", after=after[key]))
            else:
                _walk(sub, before[key], after[key], out)
        return
    if isinstance(before, list) and isinstance(after, list):
        _walk_list(path, before, after, out)
        return
    if before != after:
        out.append(Change(path, "changed", before, after, _text_diff(before, after)))


def _ids(items: list[Any]) -> list[Any] | None:
    ids = [item.get("id") if isinstance(item, dict) else None for item in items]
    if all(i is not None for i in ids) and len(set(ids)) == len(ids):
        return ids
    return None


def _walk_list(path: str, before: list[Any], after: list[Any], out: list[Change]) -> None:
    before_ids, after_ids = _ids(before), _ids(after)
    if before_ids is not None and after_ids is not None:
        old = dict(zip(before_ids, before, strict=True))
        for index, item in enumerate(after):
            sub = f"{path}[{index}]"
            if item["id"] in old:
                _walk(sub, old[item["id"]], item, out)
            else:
                out.append(Change(sub, "added", after=item))
        new_ids = set(after_ids)
        for index, item in enumerate(before):
            if item["id"] not in new_ids:
                out.append(Change(f"{path}[{index}]", "removed", before=item))
        return
    for index in range(max(len(before), len(after))):
        sub = f"{path}[{index}]"
        if index >= len(after):
            out.append(Change(sub, "removed", before=before[index]))
        elif index >= len(before):
            out.append(Change(sub, "added", after=after[index]))
        else:
            _walk(sub, before[index], after[index], out)


def _text_diff(before: Any, after: Any) -> list[str]:
    if not (isinstance(before, str) and isinstance(after, str)):
        return []
    if "\n" not in before + after and max(len(before), len(after)) < LONG_TEXT:
        return []
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=1
    )
    return list(lines)[2:]


def format_changes(changes: list[Change]) -> str:
    """Human-readable text form, one change per line plus indented text diffs."""
    if not changes:
        return "no differences"
    lines: list[str] = []
    for change in changes:
        if change.kind == "added":
            lines.append(f"+ {change.path}: {_short(change.after)}")
        elif change.kind == "removed":
            lines.append(f"- {change.path}: {_short(change.before)}")
        elif change.text_diff:
            lines.append(f"~ {change.path}:")
            lines.extend(f"    {line}" for line in change.text_diff)
        else:
            lines.append(f"~ {change.path}: {_short(change.before)} -> {_short(change.after)}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "⏎")
    return text if len(text) <= 80 else text[:77] + "..."
