"""Message templates and a small scanner for the variables a Jinja2 body uses.

Bodies use Jinja2 syntax (`{{ member_name }}`, `{% if ... %}`, `{% for x in xs %}`,
`{% set x = ... %}`); every variable a template reads must be listed in `variables`.
The scanner here is stdlib only (the domain does not import jinja2): it finds the free
names of `{{ ... }}` expressions and `if`/`elif`/`for`/`set` statements, skipping
attributes (`a.b`), filters (`| upper`), tests (`is defined`), keyword arguments, literals
and names the template binds itself (loop targets, `set`, `loop`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from sop_models.values import Items, Key, SopModel, Text

MsgType = Literal["text", "markdown", "image", "news"]

STANDARD_VARIABLES: dict[str, str] = {
    "member_name": "the new member's display name (on-join actions only)",
    "group_name": "the group's name",
    "date": "the send date, YYYY-MM-DD",
    "sop_title": "the SOP document's title",
    "welcome_warmth": "base_content.welcome.warmth",
    "welcome_value": "base_content.welcome.value",
    "welcome_rules": "base_content.welcome.rules",
    "announcement": "base_content.announcement",
    "self_intro_template": "base_content.self_intro_template",
    "content_title": "title of the action's content_tag item",
    "content_body": "body of the action's content_tag item",
    "days_left": "days until the calendar date, campaign anchor or action date (lead days)",
    "day": "the cold-start or campaign day number (1 = first day)",
    "count": "the live count a threshold trigger saw (campaign triggers only)",
    "threshold": "the threshold a trigger reached, e.g. 10 or 40 (campaign triggers only)",
}
"""Variables the planner is expected to supply, by convention (templates may declare others)."""

SAMPLE_VALUES: dict[str, object] = {
    "member_name": "小红",
    "group_name": "示例群",
    "date": "2026-09-01",
    "calendar_date": "2026-09-01",
    "month": "2026-09",
    "deadline": "2026-09-01 20:00",
    "sale_time": "20:00",
    "content_title": "示例标题",
    "content_body": "示例正文",
    "day": 1,
    "days_left": 3,
    "minutes_left": 10,
    "duration_minutes": 30,
    "lookback_days": 30,
    "first_n_limit": 10,
    "per_member_limit": 2,
    "ships_at_orders": 10,
    "count": 10,
    "threshold": 10,
    "goal_orders": 20,
    "within_hours": 24,
    "check_in_days": 7,
    "offers": ("前10名半价",),
    "segment_names": ("重要价值客户",),
}
"""Representative values the template check renders with, shaped as the planner sends them
(numbers as int, lists as tuples); any other variable gets SAMPLE_TEXT."""

SAMPLE_TEXT = "示例"


def sample_variables(names: Iterable[str], document: Mapping[str, str]) -> dict[str, object]:
    """Representative values for `names`: the document's own values where it has them."""
    return {name: document.get(name, SAMPLE_VALUES.get(name, SAMPLE_TEXT)) for name in names}


_PIECE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.S)
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<num>\d[\d_]*(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|//|\*\*|[-+*/%~<>=|.,:()\[\]{}!]))",
    re.S,
)
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "recursive",
    }
)
_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop"})
_NO_EXPRESSION = frozenset({"else", "endif", "endfor", "endset"})


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, text = 0, expr.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read template expression {expr.strip()!r}")
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _free_names(expr: str, bound: set[str]) -> set[str]:
    tokens = _tokens(expr)
    names: set[str] = set()
    for i, (kind, value) in enumerate(tokens):
        if kind != "name" or value in _KEYWORDS or value in bound or value in _GLOBALS:
            continue
        before = tokens[i - 1][1] if i else ""
        before2 = tokens[i - 2][1] if i > 1 else ""
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if before in {".", "|", "is"} or (before == "not" and before2 == "is") or after == "=":
            continue
        names.add(value)
    return names


def _strip_markers(inner: str) -> str:
    inner = inner.strip()
    inner = inner[1:] if inner[:1] in "-+" else inner
    inner = inner[:-1] if inner[-1:] in "-+" else inner
    return inner.strip()


def _targets(spec: str) -> list[str]:
    return [part.strip().strip("()") for part in spec.split(",") if part.strip().strip("()")]


def template_variables(body: str) -> set[str]:
    """Names a Jinja2 body reads from its context; ValueError on syntax we cannot follow."""
    used: set[str] = set()
    scopes: list[set[str]] = [set()]
    leftover = _PIECE.sub(" ", body)
    for opener in ("{{", "{%"):
        if opener in leftover:
            raise ValueError(f"unclosed '{opener}' in template")
    for match in _PIECE.finditer(body):
        expr, stmt = match.group(1), match.group(2)
        bound = set().union(*scopes)
        if expr is not None:
            used |= _free_names(_strip_markers(expr), bound)
        elif stmt is not None:
            used |= _statement(_strip_markers(stmt), scopes, bound)
    return used


def _statement(stmt: str, scopes: list[set[str]], bound: set[str]) -> set[str]:
    word, _, rest = stmt.partition(" ")
    if word in {"if", "elif"}:
        return _free_names(rest, bound)
    if word in _NO_EXPRESSION:
        if word == "endfor" and len(scopes) > 1:
            scopes.pop()
        return set()
    if word == "for":
        targets, sep, iterable = rest.partition(" in ")
        if not sep:
            raise ValueError(f"'{{% {stmt} %}}' needs 'for NAME in ...'")
        iterable, _, condition = iterable.partition(" if ")
        names = set(_targets(targets))
        scopes.append(names)
        return _free_names(iterable, bound) | _free_names(condition, bound | names)
    if word == "set":
        target, sep, value = rest.partition("=")
        used = _free_names(value, bound) if sep else set()
        scopes[-1].update(_targets(target))
        return used
    raise ValueError(
        f"unsupported template statement '{word}' (use if/elif/else/endif, for/endfor, set)"
    )


class MessageTemplate(SopModel):
    """A message an action sends: Jinja2 `body` plus the variables it may read.

    `msgtype` follows the WeCom robot message types. For `image` the body is the image file
    path or URL; for `news` (a link card) `title` and `url` are required, the body is the
    card's description and `picurl` its cover image.
    """

    id: Key
    msgtype: MsgType = "text"
    variables: Items[Key] = ()
    """Every variable the body (and title/url) reads, e.g. [member_name]."""
    title: Text | None = None
    """Card title (news only)."""
    body: Text
    """Jinja2 text, e.g. "欢迎 {{ member_name }} 入群"."""
    url: Text | None = None
    """Link target (news only)."""
    picurl: Text | None = None
    """Cover image URL (news only)."""

    def texts(self) -> dict[str, str]:
        """The template's Jinja2 fields by name (body, and title/url when set)."""
        fields = {"title": self.title, "body": self.body, "url": self.url}
        return {name: text for name, text in fields.items() if text is not None}
