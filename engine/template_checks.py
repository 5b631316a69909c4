"""Check an SOP's templates before anything is sent (`sop validate`, `sop save`).

Every text is parsed and rendered with representative values
(`sop_models.templates.sample_variables`) in the bounded sandbox of `engine.template_sandbox`,
the one planning renders in, so that send time never finds a broken template; every action's
template is checked against the variables the planner supplies for that kind of action.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from jinja2 import TemplateSyntaxError, UndefinedError, meta, nodes

from engine.planner.variables import template_uses
from engine.template_sandbox import SANDBOX, failure_reason, render_text
from sop_models import SopDocument
from sop_models.errors import Problem
from sop_models.templates import sample_variables


def _unsafe_attributes(tree: nodes.Template) -> Iterator[str]:
    """Attribute names starting with '_' (the sandbox refuses them; we refuse them earlier)."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.attr
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            yield node.arg.value


def _names(names: set[str] | list[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names))


def _text_problems(text: str, declared: set[str], path: str, source: str) -> list[Problem]:
    try:
        tree = SANDBOX.parse(text)
    except TemplateSyntaxError as err:
        return [Problem(source, path, f"Jinja syntax error on line {err.lineno}: {err.message}")]
    problems: list[Problem] = []
    unsafe = sorted(set(_unsafe_attributes(tree)))
    if unsafe:
        problems.append(
            Problem(
                source,
                path,
                f"reads {_names(unsafe)}: attributes starting with '_' are not allowed",
            )
        )
    missing = meta.find_undeclared_variables(tree) - declared - set(SANDBOX.globals)
    if missing:
        problems.append(
            Problem(
                source,
                path,
                f"uses undeclared variable(s) {_names(missing)}: add them to variables",
            )
        )
    return problems


def _render_problem(
    text: str, variables: Mapping[str, object], path: str, source: str
) -> list[Problem]:
    """The failure of rendering `text` with representative values under the limits, if any.

    A missing attribute or a type mismatch may come from the sample value rather than the
    template (a sample cannot know every shape a custom variable has), so those pass.
    """
    try:
        render_text(text, variables)
    except (UndefinedError, TypeError):
        return []
    except Exception as err:  # the template's own failure, whatever its kind
        return [Problem(source, path, f"fails to render with sample values: {failure_reason(err)}")]
    return []


def check_templates(doc: SopDocument, *, source: str = "") -> list[Problem]:
    """Every template problem of `doc`, one per field path (e.g. `templates[3].body`).

    Finds Jinja syntax errors, variables a text reads but does not declare, attributes
    starting with '_', texts that fail to render with representative values under the
    limits (`{{ 1/0 }}`, `range(10**9)`, `'a'*10**9`, loops too long), and actions whose
    template declares a variable the planner does not supply for that kind of action
    (e.g. member_name in a daily column).
    """
    problems: list[Problem] = []
    for index, template in enumerate(doc.templates):
        declared = set(template.variables)
        samples = sample_variables(declared, doc.document_variables())
        for name, text in template.texts().items():
            path = f"templates[{index}].{name}"
            found = _text_problems(text, declared, path, source)
            problems += found or _render_problem(text, samples, path, source)
    declared_by = {t.id: set(t.variables) for t in doc.templates}
    for use in template_uses(doc):
        missing = declared_by.get(use.template, set()) - use.supplied
        if not missing:
            continue
        hint = ""
        if "content_body" in missing and use.content_tag:
            hint = f" (content item {use.content_tag!r} has no body)"
        elif missing & {"content_title", "content_body"} and not use.content_tag:
            hint = " (give the action a content_tag)"
        problems.append(
            Problem(
                source,
                use.path,
                f"template {use.template!r} reads {_names(missing)}, which {use.where} "
                f"does not supply{hint}",
            )
        )
    return problems
