"""The bounded Jinja2 sandbox SOP templates render in, and `render_text`.

Bodies (and news titles/urls) are Jinja2 run in `BoundedSandbox`, an immutable
`SandboxedEnvironment` with `StrictUndefined` and no autoescaping: a template cannot reach
Python internals or change a list it is given, and a variable the caller did not supply is
an error, never an empty hole in a customer message. On top of the sandbox, rendering is
bounded so that a template cannot hang planning or exhaust memory:

    MAX_OUTPUT_CHARS   the rendered text, and any string a template builds (`*`, `+`, `~`,
                       filters, str methods, format)
    MAX_ITEMS          any list or tuple a template builds (`*`, `+`, filters)
    MAX_RANGE          items of one `range(...)`
    MAX_LOOP_STEPS     for-loop iterations in one render, all loops together
    MAX_INT_BITS       integers from `*` and `**`
    MAX_WIDTH          widths and precisions in format specs, and sizes given to
                       center/indent/wordwrap/batch/slice and str.ljust/rjust/center/zfill
    lipsum             at most MAX_LIPSUM_WORDS paragraphs... of at most that many words

A whole SOP message is rendered by `engine.render`; templates are checked before anything
is sent by `engine.template_checks`, both with this sandbox.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from sop_models.errors import one_line

MAX_OUTPUT_CHARS = 20_000
"""Longest rendered text or built string (WeCom text messages stop at 2,048 bytes)."""
MAX_ITEMS = 10_000
"""Longest list or tuple a template builds."""
MAX_RANGE = 1_000
"""Most items of one range()."""
MAX_LOOP_STEPS = 10_000
"""Most for-loop iterations in one render (nested loops multiply, so they count together)."""
MAX_INT_BITS = 256
"""Largest integer `*` and `**` may produce (about 10**77)."""
MAX_WIDTH = 1_000
"""Largest width, precision or size argument (format specs, center, indent, batch...)."""
MAX_LIPSUM_WORDS = 100
"""lipsum(n, html, min, max): n and max at most this."""

_LOOP_FILTER = "sop_bounded_loop"
_TEXT_FILTER = "sop_bounded_text"
_SIZED_STR_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_SIZED_FILTERS = frozenset({"center", "indent", "wordwrap", "batch", "slice"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")


def _over(what: str, limit: str, value: int) -> SecurityError:
    return SecurityError(f"{what} over the limit {limit} ({value})")


def _bounded(value: Any) -> Any:
    """`value` itself, unless it is a string or list longer than the limits."""
    if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
        return _refuse(_over("text", "MAX_OUTPUT_CHARS", MAX_OUTPUT_CHARS))
    if isinstance(value, list | tuple) and len(value) > MAX_ITEMS:
        return _refuse(_over("list", "MAX_ITEMS", MAX_ITEMS))
    return value


def _refuse(err: Exception) -> Any:
    raise err


def _check_size_args(what: str, args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_WIDTH:
            raise _over(f"{what} size", "MAX_WIDTH", MAX_WIDTH)


def _check_format(fmt: str) -> None:
    """Refuse str.format / format-filter / `%` specs asking for huge widths or precisions."""
    specs: list[str] = []
    with suppress(ValueError):  # not a valid str.format string: str.format will say so
        specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(fmt) if spec]
    for spec in specs:
        if "{" in spec:
            raise SecurityError("format widths taken from arguments ('{:{}}') are not allowed")
    for match in _PERCENT_SPEC.finditer(fmt):
        if "*" in (match.group(1), match.group(2)):
            raise SecurityError("format widths taken from arguments ('%*d') are not allowed")
        specs.append(match.group(0))
    for spec in specs:
        for number in _NUMBER.findall(spec):
            if int(number) > MAX_WIDTH:
                raise _over("format width or precision", "MAX_WIDTH", MAX_WIDTH)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    ints = all(isinstance(x, int) for x in (left, right))
    if operator == "**" and ints:
        if right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_INT_BITS:
            raise _over("integer", "MAX_INT_BITS", MAX_INT_BITS)
    elif operator == "*" and ints:
        if abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
            raise _over("integer", "MAX_INT_BITS", MAX_INT_BITS)
    elif operator == "*":
        seq, times = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            name, limit = (
                ("MAX_OUTPUT_CHARS", MAX_OUTPUT_CHARS)
                if isinstance(seq, str)
                else ("MAX_ITEMS", MAX_ITEMS)
            )
            if len(seq) * times > limit:
                raise _over("repetition", name, limit)
    elif operator == "%" and isinstance(left, str):
        _check_format(left)


def _check_str_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    if name in _SIZED_STR_METHODS:
        _check_size_args(f"str.{name}", [*args, *kwargs.values()])
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        _check_replace(owner, args[0], args[1])
    elif name == "join" and isinstance(args[:1] and args[0], list | tuple):
        _check_join(owner, args[0])


def _check_replace(text: str, old: str, new: object) -> None:
    if isinstance(new, str):
        count = len(text) + 1 if old == "" else text.count(old)
        if len(text) + count * (len(new) - len(old)) > MAX_OUTPUT_CHARS:
            raise _over("text", "MAX_OUTPUT_CHARS", MAX_OUTPUT_CHARS)


def _check_join(separator: str, items: list[Any] | tuple[Any, ...]) -> None:
    total = len(separator) * len(items) + sum(len(i) for i in items if isinstance(i, str))
    if total > MAX_OUTPUT_CHARS:
        raise _over("text", "MAX_OUTPUT_CHARS", MAX_OUTPUT_CHARS)


def _bounded_range(*args: int) -> range:
    """range() for templates, at most MAX_RANGE items."""
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise _over("range", "MAX_RANGE", MAX_RANGE)
    return found


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """lipsum() for templates: at most MAX_LIPSUM_WORDS paragraphs and words."""
    if n > MAX_LIPSUM_WORDS or max > MAX_LIPSUM_WORDS or min > max:
        raise _over("lipsum", "MAX_LIPSUM_WORDS", MAX_LIPSUM_WORDS)
    return _bounded(generate_lorem_ipsum(n, html, min, max))  # type: ignore[no-any-return]


class _Steps:
    """The for-loop iterations left in one render."""

    def __init__(self) -> None:
        self.left = MAX_LOOP_STEPS

    def take(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _over("loop iterations", "MAX_LOOP_STEPS", MAX_LOOP_STEPS)


_STEPS: ContextVar[_Steps | None] = ContextVar("sopflow_render_steps", default=None)


def _bounded_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    steps = _STEPS.get() or _Steps()
    for item in iterable:
        steps.take()
        yield item


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name in _SIZED_FILTERS:
            _check_size_args(f"{name} filter", [*args[1:], *kwargs.values()])
        elif name == "format" and args and isinstance(args[0], str):
            _check_format(args[0])
        elif name == "replace":
            texts = [arg for arg in args if isinstance(arg, str)]
            if len(texts) >= 3:
                _check_replace(*texts[:3])
        elif name == "join" and len(args) > 1 and isinstance(args[1], list | tuple):
            separator = args[2] if len(args) > 2 else kwargs.get("d", "")
            _check_join(separator if isinstance(separator, str) else "", args[1])
        return _bounded(func(*args, **kwargs))

    return bounded


class _Bounds(NodeTransformer):
    """Counts every for-loop iteration and bounds every `~` concatenation."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return nodes.Filter(node, _TEXT_FILTER, [], [], None, None, lineno=node.lineno)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every template bounded by the limits above."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP_FILTER] = _bounded_loop
        self.filters[_TEXT_FILTER] = _bounded
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        return _Bounds().visit(tree)  # type: ignore[no-any-return]

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _bounded(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_str_method(__obj, args, kwargs)
        return _bounded(super().call(__context, __obj, *args, **kwargs))


SANDBOX = BoundedSandbox(undefined=StrictUndefined, autoescape=False)
"""The one environment every SOP template is parsed and rendered in."""


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Template:
    return SANDBOX.from_string(source)


def render_text(source: str, variables: Mapping[str, object]) -> str:
    """Render one Jinja2 text in the bounded sandbox (raises errors as they come: jinja2's,
    SecurityError naming a limit, or whatever the template's own arithmetic raises)."""
    token = _STEPS.set(_Steps())
    try:
        pieces: list[str] = []
        size = 0
        for piece in _compiled(source).generate(variables):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise _over("rendered text", "MAX_OUTPUT_CHARS", MAX_OUTPUT_CHARS)
            pieces.append(piece)
        return "".join(pieces).rstrip()
    finally:
        _STEPS.reset(token)


def failure_reason(err: Exception) -> str:
    """One line saying why a render failed."""
    if isinstance(err, TemplateError) and err.message:
        return one_line(err.message)
    text = one_line(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
