"""Template rendering in the sandbox, and the template checks run at validate/save time."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from engine.render import render
from engine.template_checks import check_templates
from engine.template_sandbox import render_text
from sop_models import SopDocument
from sop_models.document import SKIP_CROSS_CHECKS
from sop_models.errors import TemplateRenderError
from tests.support.examples import example
from tests.support.planning import BASE, sop


def unchecked(**sections: Any) -> SopDocument:
    """A document built without the model's own cross checks (as a broken file would be)."""
    data = copy.deepcopy(BASE)
    data.update(sections)
    return SopDocument.model_validate(data, context={SKIP_CROSS_CHECKS: True})


def paths(doc: SopDocument) -> dict[str, str]:
    return {p.path: p.message for p in check_templates(doc)}


def test_render_fills_variables_and_keeps_chinese_intact() -> None:
    doc = example("mombaby-refined")
    message = render(doc, "welcome", {**doc.document_variables(), "member_name": "小红"})
    assert message.msgtype == "text" and message.extra == {}
    assert message.text.splitlines() == [
        "@小红 欢迎新妈妈加入宝妈成长营！我是群主安安，带娃辛苦啦，先给你一个抱抱～",
        doc.base_content.welcome.value,
        doc.base_content.welcome.rules,
    ]
    no_name = render(doc, "welcome", {**doc.document_variables(), "member_name": ""})
    assert no_name.text.startswith("欢迎新妈妈")


def test_news_and_image_templates_put_their_parts_into_channel_extras() -> None:
    doc = sop(
        templates=[
            {
                "id": "card",
                "msgtype": "news",
                "variables": ["group_name"],
                "title": "{{ group_name }} 专属福利",
                "body": "点开领券",
                "url": "https://example.com/c?g={{ group_name | urlencode }}",
                "picurl": "https://example.com/c.png",
            },
            {"id": "local", "msgtype": "image", "body": "posters/七夕.png"},
            {"id": "remote", "msgtype": "image", "body": "https://example.com/p.png"},
        ]
    )
    card = render(doc, "card", {"group_name": "宝妈群"})
    assert card.text == "点开领券"
    assert card.extra == {
        "news_title": "宝妈群 专属福利",
        "news_url": "https://example.com/c?g=%E5%AE%9D%E5%A6%88%E7%BE%A4",
        "news_description": "点开领券",
        "news_picurl": "https://example.com/c.png",
    }
    assert render(doc, "local", {}).extra == {"image_path": "posters/七夕.png"}
    assert render(doc, "remote", {}).extra == {"image_pic_url": "https://example.com/p.png"}


def test_a_missing_variable_fails_with_one_line_instead_of_rendering_a_hole() -> None:
    doc = example("mombaby-refined")
    with pytest.raises(
        TemplateRenderError, match="template 'self-intro': 'member_name' is undefined"
    ):
        render(doc, "self-intro", doc.document_variables())
    with pytest.raises(TemplateRenderError, match="no template 'nope'"):
        render(doc, "nope", {})


def test_sandbox_refuses_unsafe_attribute_access() -> None:
    with pytest.raises(SecurityError):
        render_text("{{ ''.__class__.__mro__ }}", {})
    with pytest.raises(SecurityError):
        render_text("{{ name.__class__.__init__.__globals__ }}", {"name": "小红"})
    doc = unchecked(
        templates=[
            {"id": "evil", "variables": ["member_name"], "body": "{{ member_name.__class__ }}"}
        ]
    )
    with pytest.raises(TemplateRenderError, match="unsafe"):
        render(doc, "evil", {"member_name": "小红"})
    assert "attributes starting with '_' are not allowed" in paths(doc)["templates[0].body"]


def test_check_templates_names_the_field_of_a_jinja_syntax_error() -> None:
    doc = sop(
        templates=[
            {"id": "ok", "body": "你好"},
            {
                "id": "news",
                "msgtype": "news",
                "title": "{{ a b }}",
                "variables": ["a", "b"],
                "body": "x",
                "url": "https://e.com",
            },
            {"id": "open-if", "variables": ["group_name"], "body": "{% if group_name %}欢迎"},
        ]
    )
    found = paths(doc)
    assert set(found) == {"templates[1].title", "templates[2].body"}
    assert found["templates[1].title"].startswith("Jinja syntax error on line 1:")
    assert "endif" in found["templates[2].body"]


def test_check_templates_catches_an_undeclared_variable() -> None:
    doc = unchecked(
        templates=[{"id": "t", "variables": ["date"], "body": "{{ date }} {{ coupon }}"}]
    )
    assert paths(doc) == {
        "templates[0].body": "uses undeclared variable(s) 'coupon': add them to variables"
    }


def test_check_templates_refuses_a_variable_the_action_kind_does_not_supply() -> None:
    doc = sop(
        schedule={
            "columns": [
                {"id": "c", "name": "早安", "time": "08:00", "template": "hi"},
                {"id": "d", "name": "干货", "time": "09:00", "template": "topic"},
            ],
            "on_join": [{"id": "w", "template": "hi"}],
        },
        templates=[
            {"id": "hi", "variables": ["member_name"], "body": "欢迎 {{ member_name }}"},
            {"id": "topic", "variables": ["content_title"], "body": "{{ content_title }}"},
        ],
    )
    found = paths(doc)
    assert set(found) == {"schedule.columns[0].template", "schedule.columns[1].template"}
    assert found["schedule.columns[0].template"] == (
        "template 'hi' reads 'member_name', which a column does not supply"
    )
    assert found["schedule.columns[1].template"].endswith("(give the action a content_tag)")


def test_the_examples_pass_the_template_checks() -> None:
    for name in ("mombaby-refined", "flash-sale-promo", "jewelry-service"):
        assert check_templates(example(name), source=name) == []


def test_templates_cannot_change_the_lists_they_are_given() -> None:
    with pytest.raises(SecurityError, match="unsafe"):
        render_text("{{ offers.append('x') }}", {"offers": ["a"]})


def test_any_render_failure_is_one_template_render_error_line() -> None:
    doc = unchecked(templates=[{"id": "zero", "body": "{{ 1 // 0 }}"}])
    with pytest.raises(TemplateRenderError) as caught:
        render(doc, "zero", {})
    assert str(caught.value).endswith(
        "template 'zero': ZeroDivisionError: integer division or modulo by zero"
    )
    assert paths(doc) == {
        "templates[0].body": "fails to render with sample values: "
        "ZeroDivisionError: integer division or modulo by zero"
    }
