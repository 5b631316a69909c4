"""Turn pydantic validation errors into one-line `Problem`s with field paths.

A pydantic `loc` tuple `('schedule', 'columns', 2, 'time')` becomes the path
`schedule.columns[2].time`; messages are reworded where pydantic's mention Python types.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sop_models.errors import Problem

_TYPE_WORDS = {
    "tuple_type": "should be a list",
    "list_type": "should be a list",
    "model_type": "should be a mapping of fields",
    "dict_type": "should be a mapping of fields",
    "model_attributes_type": "should be a mapping of fields",
    "string_type": "should be text",
    "int_type": "should be a whole number",
    "float_type": "should be a number",
    "bool_type": "should be true or false",
    "date_type": "should be a date YYYY-MM-DD",
}


def format_path(loc: tuple[int | str, ...]) -> str:
    """`('schedule', 'columns', 2, 'time')` -> `schedule.columns[2].time`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field (not part of the SOP schema)"
    if kind in {"too_long", "too_short"}:
        bound = "at most" if kind == "too_long" else "at least"
        limit = ctx.get("max_length" if kind == "too_long" else "min_length")
        return f"should have {bound} {limit} item(s), not {ctx.get('actual_length')}"
    message = _TYPE_WORDS.get(kind, error["msg"].replace("Input should", "should"))
    if isinstance(error["input"], str | int | float | bool | date) or error["input"] is None:
        message = f"{message} (got {_shown(error['input'])})"
    return message


def problems_from_validation(err: ValidationError, source: str) -> list[Problem]:
    """Every error of `err` as a Problem of file `source`."""
    return [
        Problem(source, format_path(tuple(e["loc"])), _message(e))
        for e in err.errors(include_url=False)
    ]
