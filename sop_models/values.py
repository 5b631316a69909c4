"""Value types shared by every SOP section: texts, ids, times of day, dates, lists, aliases.

Every model derives from `SopModel` (frozen, strict, unknown fields refused). Lists are
stored as tuples so a document is immutable and hashable; YAML/JSON lists are accepted.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

T = TypeVar("T")


class SopModel(BaseModel):
    """Base of every SOP model: frozen, strict, no unknown fields, field docs in the schema."""

    model_config = ConfigDict(
        frozen=True, strict=True, extra="forbid", use_attribute_docstrings=True
    )


def as_tuple(value: Any) -> Any:
    """A list as a tuple (strict tuples refuse lists); anything else unchanged."""
    return tuple(value) if isinstance(value, list) else value


Items = Annotated[tuple[T, ...], BeforeValidator(as_tuple)]
"""A list in YAML/JSON, a tuple in the model."""

NonEmptyItems = Annotated[tuple[T, ...], Field(min_length=1), BeforeValidator(as_tuple)]
"""Like `Items`, with at least one item (length constraints go before the conversion so the
JSON Schema says minItems)."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[
    str, AfterValidator(_not_blank), WithJsonSchema({"type": "string", "minLength": 1})
]
"""Free text that must contain more than whitespace."""

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits, '-' and '_' "
            "(e.g. morning-tips)"
        )
    return value


Key = Annotated[
    str,
    AfterValidator(_key),
    WithJsonSchema({"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"}),
]
"""An id inside a document (column, template, campaign, ...): `[a-z0-9][a-z0-9_-]*`."""

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def _clock(value: Any, *, allow_24: bool) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f'should be a time of day written as "HH:MM" in quotes (got the number {value}; '
            "a YAML 1.1 reader turns unquoted 10:00 into 600)"
        )
    if not isinstance(value, str):
        return value  # the strict str check reports the type
    match = _CLOCK.fullmatch(value.strip())
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    valid = 0 <= hour <= 23 and 0 <= minute <= 59
    if allow_24 and (hour, minute) == (24, 0):
        valid = True
    if not valid:
        upper = "24:00" if allow_24 else "23:59"
        raise ValueError(f"{value!r} is not a time of day (HH:MM, 00:00-{upper})")
    return f"{hour:02d}:{minute:02d}"


_TIME_SCHEMA = {"type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"}
ClockTime = Annotated[
    str, BeforeValidator(lambda v: _clock(v, allow_24=False)), WithJsonSchema(_TIME_SCHEMA)
]
"""A send time "HH:MM" (00:00-23:59), normalised to two-digit hours."""

DeadlineTime = Annotated[
    str,
    BeforeValidator(lambda v: _clock(v, allow_24=True)),
    WithJsonSchema({"type": "string", "pattern": "^(([01]?[0-9]|2[0-3]):[0-5][0-9]|24:00)$"}),
]
"""A deadline "HH:MM"; "24:00" means the end of that day ("until 24:00 tonight")."""


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date; YAML dates and ISO strings "2026-08-19" are both accepted."""


def parse_time(value: str) -> tuple[int, int]:
    """(hour, minute) of a validated "HH:MM" string."""
    hour, minute = value.split(":")
    return int(hour), int(minute)


def aliased(kind: Any, aliases: dict[str, str]) -> Any:
    """A Literal type that also accepts the Chinese `aliases` and stores the English value."""
    values = get_args(kind)

    def canonical(value: Any) -> Any:
        return aliases.get(value, value) if isinstance(value, str) else value

    accepted = Literal[(*values, *aliases)]  # type: ignore[valid-type]
    return Annotated[kind, BeforeValidator(canonical, json_schema_input_type=accepted)]


def canonical_value(value: Any, aliases: dict[str, str]) -> str | None:
    """Text `value` with a Chinese alias replaced by its English value; None if not text.

    For the cross-field checks on raw data, where a value may have any type.
    """
    return aliases.get(value, value) if isinstance(value, str) else None
