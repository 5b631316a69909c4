"""The SOP document: the root model that ties positioning, content, schedule and playbooks.

The version number is not part of the document; the version store assigns it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, model_validator

from sop_models.checks import INHERITED, semantic_problems
from sop_models.community import BaseContent, CommunityType, GroupPurpose, Positioning, Roles, Rules
from sop_models.content import ContentItem, normalise_tag
from sop_models.errors import DocumentInvalid, Problem
from sop_models.ids import SopId
from sop_models.kpis import Kpis
from sop_models.link_tracking import LinkTracking
from sop_models.playbooks import Playbooks
from sop_models.schedule import Schedule
from sop_models.templates import MessageTemplate
from sop_models.values import Items, SopModel, Text

SKIP_CROSS_CHECKS = "sop_models.skip_cross_checks"
"""Validation-context key: `parse_document` runs the cross-field checks itself."""


class Overlay(SopModel):
    """This SOP is an overlay: campaigns and columns laid over a base SOP's groups."""

    priority: Annotated[int, Field(ge=-100, le=100)] = 0
    """Higher wins when its posts collide with the base's (or another overlay's)."""


class SopDocument(SopModel):
    """One SOP (标准化操作流程) for a kind of customer group.

    Enums are stored in English; Chinese aliases are accepted on input (群发推广型, 引流群,
    促活, 图文, 温馨, 周三, 工作日, 农历, ...; see each module). `model_validate` also runs the
    cross-field checks and raises `DocumentInvalid` when they fail; `parse_document` is
    the usual way in and reports structural and cross-field problems together.
    """

    id: SopId
    """Slug used in git tags `<id>/v1.0`, e.g. mombaby-refined (rule: `sop_models.ids`)."""
    title: Text
    positioning: Positioning | None = None
    """Required, except in an overlay (which inherits its base SOP's)."""
    community_type: CommunityType | None = None
    """Required, except in an overlay."""
    group_purpose: GroupPurpose | None = None
    """Required, except in an overlay."""
    roles: Roles | None = None
    """Required, except in an overlay."""
    rules: Rules | None = None
    """Required, except in an overlay."""
    base_content: BaseContent | None = None
    """Required, except in an overlay (whose templates then cannot read welcome_* etc.)."""
    content_library: Items[ContentItem] = ()
    schedule: Schedule = Schedule()
    playbooks: Playbooks = Playbooks()
    kpis: Kpis = Kpis()
    templates: Items[MessageTemplate] = ()
    overlay: Overlay | None = None
    """Makes this a campaign-only overlay SOP, laid over base SOPs (`sop overlay attach`)."""
    track_links: bool | LinkTracking | None = None
    """Send links as tracked `/r/` links: true for all, or `links:` prefixes (link_tracking)."""

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> SopDocument:
        if info.context and info.context.get(SKIP_CROSS_CHECKS):
            return self
        findings = semantic_problems(self.model_dump(mode="python"))
        if findings:
            raise DocumentInvalid([Problem("", path, message) for path, message in findings])
        return self

    def template(self, template_id: str) -> MessageTemplate:
        """The template with this id; KeyError if there is none."""
        for template in self.templates:
            if template.id == template_id:
                return template
        raise KeyError(f"{self.id}: no template {template_id!r}")

    def content_item(self, tag: str) -> ContentItem:
        """The library item with this tag (any accepted spelling); KeyError if there is none."""
        try:
            wanted = normalise_tag(tag)
        except ValueError:
            raise KeyError(f"{self.id}: {tag!r} is not a content tag") from None
        for item in self.content_library:
            if item.tag == wanted:
                return item
        raise KeyError(f"{self.id}: no content item {wanted!r}")

    def document_variables(self) -> dict[str, str]:
        """Template variables whose values come from the document itself."""
        if self.base_content is None:  # an overlay
            return {"sop_title": self.title}
        welcome = self.base_content.welcome
        return {
            "sop_title": self.title,
            "welcome_warmth": welcome.warmth,
            "welcome_value": welcome.value,
            "welcome_rules": welcome.rules,
            "announcement": self.base_content.announcement,
            "self_intro_template": self.base_content.self_intro_template,
        }


def document_schema() -> dict[str, Any]:
    """JSON Schema of an SOP document, for editors (JSON-serialisable, Chinese intact)."""
    schema = SopDocument.model_json_schema(mode="validation")
    for name in INHERITED:  # optional only by omission: a null there helps no editor
        prop = schema["properties"][name]
        branches = [b for b in prop.pop("anyOf", ()) if b.get("type") != "null"]
        prop.pop("default", None)
        if len(branches) == 1:
            prop.update(branches[0])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
