"""Render SOP message templates safely, and check them before anything is sent.

Bodies (and news titles/urls) are Jinja2 run in a `SandboxedEnvironment` with
`StrictUndefined` and no autoescaping: a template cannot reach Python internals, and a
variable the caller did not supply is an error, never an empty hole in a customer message.
`check_templates` runs at `sop validate`/`sop save` time so that send time never finds a
broken template. Failures raise `TemplateRenderError` (drawn in `sop_models.errors`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from engine.planner.variables import template_uses
from sop_models import SopDocument
from sop_models.actions import MsgType
from sop_models.errors import Problem, TemplateRenderError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered template: the text, its WeCom msgtype and channel extras.

    `extra` uses the keys of `engine.channels.content`: news_title/news_url/news_picurl for a
    news card, image_path (local file) or image_pic_url (URL) for an image.
    """

    text: str
    msgtype: MsgType
    extra: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def render_text(source: str, variables: Mapping[str, object]) -> str:
    """Render one Jinja2 text in the sandbox (raises jinja2 errors as they come)."""
    return _compiled(source).render(variables).rstrip()


def render(doc: SopDocument, template_id: str, variables: Mapping[str, object]) -> RenderedMessage:
    """Render template `template_id` of `doc` with `variables`; TemplateRenderError if not."""
    try:
        template = doc.template(template_id)
    except KeyError:
        raise TemplateRenderError(f"{doc.id}: no template {template_id!r}") from None
    try:
        texts = {name: render_text(text, variables) for name, text in template.texts().items()}
    except TemplateError as err:
        raise TemplateRenderError(
            f"{doc.id}: template {template_id!r}: {err.message or type(err).__name__}"
        ) from None
    body = texts["body"]
    extra: dict[str, str] = {}
    if template.msgtype == "news":
        extra["news_title"] = texts.get("title", "")
        extra["news_url"] = texts.get("url", "")
        extra["news_description"] = body
        if template.picurl:
            extra["news_picurl"] = template.picurl
    elif template.msgtype == "image":
        where = body.strip()
        extra["image_pic_url" if where.startswith(("http://", "https://")) else "image_path"] = (
            where
        )
    return RenderedMessage(body, template.msgtype, extra)


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
        tree = _ENV.parse(text)
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
    missing = meta.find_undeclared_variables(tree) - declared - set(_ENV.globals)
    if missing:
        problems.append(
            Problem(
                source,
                path,
                f"uses undeclared variable(s) {_names(missing)}: add them to variables",
            )
        )
    return problems


def check_templates(doc: SopDocument, *, source: str = "") -> list[Problem]:
    """Every template problem of `doc`, one per field path (e.g. `templates[3].body`).

    Finds Jinja syntax errors, variables a text reads but does not declare, attributes
    starting with '_', and actions whose template declares a variable the planner does not
    supply for that kind of action (e.g. member_name in a daily column).
    """
    problems: list[Problem] = []
    for index, template in enumerate(doc.templates):
        declared = set(template.variables)
        for name, text in template.texts().items():
            problems += _text_problems(text, declared, f"templates[{index}].{name}", source)
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
