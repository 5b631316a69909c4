"""The one rule for ids that enter sopflow: SOP, alias, group and member ids.

Ids become parts of git ref names (`refs/tags/<sop-id>/v1.0`), ref patterns that git expands
as globs, ledger keys joined by `:` and file names, so they are refused where they enter when
they could mean something else there. An id is 1 to 64 characters: letters (any script, so
`宝妈群` is fine), digits, `-`, `_` and `.`; it starts with a letter or digit, and a `.` sits
between two other characters (no leading or trailing `.`, no `..`). Refused, among others:
`:`, `*?[]`, `/`, `\\`, `@`, whitespace, control characters, and the `.lock` ending git keeps
for itself. Ids must be in Unicode NFC form, so that one id has one spelling.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

MAX_ID_LENGTH = 64
ID_PATTERN = re.compile(r"[^\W_][\w-]*(?:\.[\w-]+)*")
"""Letters or digits first; then letters, digits, `_`, `-`, and single dots between them."""
ID_RULE = (
    f"1 to {MAX_ID_LENGTH} letters, digits, '-', '_' or '.', starting with a letter or digit"
    " (no ':', '*?[]', '/', '\\', '@', spaces, '..' or a trailing '.')"
)
SHOWN_CHARS = 40  # a refused id is cut to this many characters in a message


def shown(value: str) -> str:
    """An id for a one-line message: quoted (control characters escaped), cut short if long."""
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


def id_problem(value: object, what: str = "id") -> str | None:
    """Why `value` is not a valid id (one line, naming `what`), or None when it is."""
    if not isinstance(value, str):
        return f"{what} must be text, not {type(value).__name__}"
    if not value:
        return f"{what} is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"{what} {shown(value)} is {len(value)} characters long (at most {MAX_ID_LENGTH})"
    if not ID_PATTERN.fullmatch(value) or value.endswith(".lock"):
        return f"{what} {shown(value)} is not a valid id: use {ID_RULE}"
    if unicodedata.normalize("NFC", value) != value:
        return f"{what} {shown(value)} is not in Unicode NFC form"
    return None


def is_valid_id(value: object) -> bool:
    """Whether `value` follows the id rule."""
    return id_problem(value) is None


def check_id(value: str, what: str = "id") -> str:
    """`value` unchanged if it follows the id rule; ValueError with a one-line reason if not."""
    problem = id_problem(value, what)
    if problem is not None:
        raise ValueError(problem)
    return value


def _sop_id(value: str) -> str:
    return check_id(value, "SOP id")


SopId = Annotated[
    str,
    AfterValidator(_sop_id),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ID_LENGTH,
            "pattern": r"^[^\s.\-_:*?\[\]/\\@][^\s:*?\[\]/\\@]*$",
        }
    ),
]
"""An SOP id (used in git tags `<id>/v1.0`) under the id rule, e.g. mombaby-refined."""


__all__ = [
    "ID_PATTERN",
    "ID_RULE",
    "MAX_ID_LENGTH",
    "SopId",
    "check_id",
    "id_problem",
    "is_valid_id",
    "shown",
]
