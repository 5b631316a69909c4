"""Read and write SOP documents as YAML (or JSON), reporting every problem at once.

PyYAML follows YAML 1.1, where an unquoted `10:00` is the base-60 number 600. Our loader
keeps such scalars as strings, so times need no quotes and `25:00` is reported as a bad
time rather than a number. Duplicate keys are refused instead of silently overwritten.
Dumps keep Chinese as is (no \\u escapes) and keys in model field order.

Documents are read under limits no real SOP comes near (the examples are ~12 KB, a few
hundred nodes, three aliases): `MAX_DOCUMENT_BYTES` before parsing, then, on the composed
YAML node graph and before anything is built from it, `MAX_ALIAS_USES`, `MAX_EXPANDED_NODES`
(nodes after every alias is expanded: the "billion laughs" shape is refused here in
milliseconds) and `MAX_DEPTH`; a recursive alias is refused too. A document over a limit is
one problem naming the limit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sop_models.checks import semantic_problems
from sop_models.document import SKIP_CROSS_CHECKS, SopDocument
from sop_models.errors import DocumentInvalid, Problem
from sop_models.problems import problems_from_validation

MAX_DOCUMENT_BYTES = 1_000_000
"""Largest document text, in UTF-8 bytes."""
MAX_ALIAS_USES = 1_000
"""Most YAML alias uses (`*name`) in one document."""
MAX_EXPANDED_NODES = 200_000
"""Most YAML nodes (scalars, lists, mappings) once every alias is expanded."""
MAX_DEPTH = 100
"""Deepest nesting of lists and mappings."""

_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_STR_TAG = "tag:yaml.org,2002:str"


# libyaml's parser when present (several times faster); resolving stays in Python either way
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _OverLimit(yaml.YAMLError):
    """A document over one of the limits above (the message names it)."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_graph(root: yaml.Node) -> None:
    """Refuse a node graph over the alias, expansion or depth limits, or with a cycle.

    Walks the graph once in document order without recursion. An alias is a node reached
    again; in document order its anchor is already complete (or, for a recursive alias,
    still open), so each node's expanded size is computed once from its children's.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    alias_uses = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, closing = stack.pop()
        children = _children(node)
        if closing:
            open_nodes.discard(id(node))
            size[id(node)] = 1 + sum(size[id(child)] for child in children)
            if size[id(node)] > MAX_EXPANDED_NODES:
                raise _OverLimit(
                    f"more than {MAX_EXPANDED_NODES} YAML nodes once aliases are expanded "
                    "(limit MAX_EXPANDED_NODES)"
                )
            continue
        if id(node) in open_nodes:
            raise _OverLimit("a YAML alias refers to a node that contains it (recursive alias)")
        if id(node) in size:
            alias_uses += 1
            if alias_uses > MAX_ALIAS_USES:
                raise _OverLimit(
                    f"more than {MAX_ALIAS_USES} YAML alias uses (limit MAX_ALIAS_USES)"
                )
            continue
        if depth > MAX_DEPTH:
            raise _OverLimit(f"nested deeper than {MAX_DEPTH} levels (limit MAX_DEPTH)")
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(children))


class SopLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps `10:00`-like scalars as text, refuses duplicate keys, and
    refuses a node graph over the alias, expansion or depth limits before building it."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _check_graph(node)
        return node

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0] and _SEXAGESIMAL.fullmatch(value):
            return _STR_TAG
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if not isinstance(key, str):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class SopDumper(yaml.SafeDumper):
    """SafeDumper writing multi-line text as `|` blocks and indenting lists under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_STR_TAG, value, style=style)


SopDumper.add_representer(str, _represent_str)


def _syntax_problem(err: Exception, source: str, kind: str) -> Problem:
    mark = getattr(err, "problem_mark", None)
    if isinstance(err, json.JSONDecodeError):
        where = f" at line {err.lineno}, column {err.colno}"
        detail = err.msg
    else:
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = (
            " ".join(
                str(part)
                for part in (getattr(err, "context", None), getattr(err, "problem", None))
                if part
            )
            or str(err).splitlines()[0]
        )
    return Problem(source, "", f"{kind} syntax error{where}: {detail}")


class _DuplicateKey(ValueError):
    pass


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(repr(key))
        result[key] = value
    return result


def _limit_problem(source: str, message: str) -> DocumentInvalid:
    return DocumentInvalid([Problem(source, "", f"document refused: {message}")])


def read_data(text: str, source: str = "<string>") -> Any:
    """Plain data of a YAML or JSON text; DocumentInvalid with line/column if unreadable,
    or naming the limit (size, aliases, expanded nodes, depth) a document goes over."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise _limit_problem(
            source, f"{size} bytes, over {MAX_DOCUMENT_BYTES} (limit MAX_DOCUMENT_BYTES)"
        )
    if text.lstrip().startswith("{"):  # JSON (a YAML file rarely is one flow mapping)
        try:
            return json.loads(text, object_pairs_hook=_json_object)
        except json.JSONDecodeError as err:
            raise DocumentInvalid([_syntax_problem(err, source, "JSON")]) from None
        except _DuplicateKey as err:
            raise DocumentInvalid([Problem(source, "", f"JSON: duplicate key {err}")]) from None
        except RecursionError:
            raise _limit_problem(source, "JSON nested too deeply") from None
    try:
        return yaml.load(text, Loader=SopLoader)
    except _OverLimit as err:
        raise _limit_problem(source, str(err)) from None
    except RecursionError:
        raise _limit_problem(source, f"nested deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as err:
        raise DocumentInvalid([_syntax_problem(err, source, "YAML")]) from None


def validate_data(data: Any, source: str = "<string>") -> SopDocument:
    """The document for plain data; DocumentInvalid listing structural and cross-field problems."""
    if data is None:
        raise DocumentInvalid([Problem(source, "", "the document is empty")])
    problems: list[Problem] = []
    doc: SopDocument | None = None
    try:
        doc = SopDocument.model_validate(data, context={SKIP_CROSS_CHECKS: True})
    except ValidationError as err:
        problems.extend(problems_from_validation(err, source))
    problems.extend(Problem(source, path, message) for path, message in semantic_problems(data))
    if problems or doc is None:
        raise DocumentInvalid(problems)
    return doc


def parse_document(text: str, source: str = "<string>") -> SopDocument:
    """Parse and validate an SOP from YAML or JSON text; `source` names it in problems."""
    return validate_data(read_data(text, source), source)


def load_document(path: str | Path) -> SopDocument:
    """Read and validate an SOP file (YAML or JSON, UTF-8)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise DocumentInvalid([Problem(str(path), "", f"cannot read the file: {reason}")]) from None
    return parse_document(text, str(path))


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v != () and v != []}
    if isinstance(value, list | tuple):
        return [_without_empty(item) for item in value]
    return value


def document_data(doc: SopDocument) -> dict[str, Any]:
    """Plain data of a document in field order (dates stay `date`, tuples become lists),
    leaving out unset optional fields and empty lists (both are the defaults)."""
    return _without_empty(doc.model_dump(mode="python", exclude_none=True))  # type: ignore[no-any-return]


def dump_document(doc: SopDocument) -> str:
    """Canonical YAML text of a document: Chinese intact, field order, times as "HH:MM"."""
    return yaml.dump(
        document_data(doc),
        Dumper=SopDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=4096,
    )


def dumps_json(doc: SopDocument) -> str:
    """The document as JSON text (Chinese intact, dates ISO)."""
    return json.dumps(doc.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2)
