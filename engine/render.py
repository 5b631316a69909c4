"""Render one template of an SOP document into the message a channel sends.

The templates run in the bounded sandbox of `engine.template_sandbox` (limits, `render_text`);
`engine.template_checks.check_templates` runs at `sop validate`/`sop save` time: it parses
every text and renders it with representative values (`sop_models.templates.sample_variables`)
under the same limits, so that send time (planning renders with the same environment) never
finds a broken template. Failures raise `TemplateRenderError` (drawn in `sop_models.errors`),
one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.template_sandbox import failure_reason, render_text
from sop_models import SopDocument
from sop_models.actions import MsgType
from sop_models.errors import TemplateRenderError


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered template: the text, its WeCom msgtype and channel extras.

    `extra` uses the keys of `engine.channels.content`: news_title/news_url/news_picurl for a
    news card, image_path (local file) or image_pic_url (URL) for an image.
    """

    text: str
    msgtype: MsgType
    extra: dict[str, str] = field(default_factory=dict)


def render(doc: SopDocument, template_id: str, variables: Mapping[str, object]) -> RenderedMessage:
    """Render template `template_id` of `doc` with `variables`; TemplateRenderError if not."""
    try:
        template = doc.template(template_id)
    except KeyError:
        raise TemplateRenderError(f"{doc.id}: no template {template_id!r}") from None
    try:
        texts = {name: render_text(text, variables) for name, text in template.texts().items()}
    except Exception as err:  # a template is user code: any failure is the user's, one line
        why = failure_reason(err)
        raise TemplateRenderError(f"{doc.id}: template {template_id!r}: {why}") from None
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
