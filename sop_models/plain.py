"""Helpers to walk a document as plain data (what YAML or JSON gave us), tolerating any shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

Finding = tuple[str, str]


def dicts(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, item) for the mapping items of a list; nothing if `value` is not a list."""
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield f"{path}[{index}]", item


def at(data: Any, *keys: str) -> Any:
    """`data[k1][k2]...`, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def join(path: str, key: str) -> str:
    """Field path of `key` under `path`."""
    return f"{path}.{key}" if path else key


def as_int(value: Any) -> int | None:
    """`value` if it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_date(value: Any) -> date | None:
    """A date from a date or an ISO string, else None."""
    if isinstance(value, datetime):
        return None  # a date with a time of day is a structural error
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
