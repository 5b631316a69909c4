"""Documents and templates under limits: hostile YAML and hostile templates are refused at
validate time with one line naming the limit or the field, and real SOPs are untouched."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment

from engine.render import render
from engine.template_checks import check_templates
from engine.template_sandbox import render_text
from services.validation import check_files, validate_text
from sop_models import DocumentInvalid, parse_document, read_data
from sop_models.errors import TemplateRenderError
from sop_models.templates import sample_variables
from sop_models.yaml_io import (
    MAX_ALIAS_USES,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_EXPANDED_NODES,
)
from tests.support.examples import EXAMPLES, example, example_text, modified


def billion_laughs() -> str:
    """Nine anchors, each a list repeating the previous one nine times (9**9 leaves)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def refusal(text: str) -> str:
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(text, "bad.yaml")
    assert len(caught.value.problems) == 1
    return str(caught.value)


def test_the_billion_laughs_document_is_refused_before_it_is_expanded() -> None:
    message = refusal(billion_laughs())
    assert message == (
        f"bad.yaml: (document): document refused: more than {MAX_EXPANDED_NODES} YAML nodes "
        "once aliases are expanded (limit MAX_EXPANDED_NODES)"
    )


def test_validate_reports_the_billion_laughs_file_as_one_problem() -> None:
    with pytest.raises(DocumentInvalid, match=r"^lol\.yaml: \(document\): .*MAX_EXPANDED_NODES"):
        validate_text(billion_laughs(), "lol.yaml")


def test_too_many_alias_uses_are_refused() -> None:
    text = "x: &x 1\nys: [" + ", ".join(["*x"] * (MAX_ALIAS_USES + 1)) + "]\n"
    assert "(limit MAX_ALIAS_USES)" in refusal(text)


def test_a_recursive_alias_is_refused() -> None:
    assert "recursive alias" in refusal("a: &a [1, *a]\n")


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    deep = "x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    assert "(limit MAX_DEPTH)" in refusal(deep)


def test_a_document_over_the_size_limit_is_refused_before_parsing() -> None:
    text = "title: " + "长" * (MAX_DOCUMENT_BYTES // 3 + 1) + "\n"
    assert "(limit MAX_DOCUMENT_BYTES)" in refusal(text)


def test_a_few_aliases_still_work() -> None:
    assert read_data("x: &a {k: 1}\ny: *a\nz: [*a, *a]\n") == {
        "x": {"k": 1},
        "y": {"k": 1},
        "z": [{"k": 1}, {"k": 1}],
    }


HOSTILE = {
    "division": ("{{ 1/0 }}", "ZeroDivisionError"),
    "huge-range": ("{% for i in range(10**9) %}x{% endfor %}", "MAX_RANGE"),
    "huge-text": ("{{ 'a'*10**9 }}", "MAX_OUTPUT_CHARS"),
    "huge-list": ("{{ [0]*10**9 }}", "MAX_ITEMS"),
    "lipsum": ("{{ lipsum(10**6) }}", "MAX_LIPSUM_WORDS"),
    "nested-loops": (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
        "MAX_LOOP_STEPS",
    ),
    "power": ("{{ 9**9**9 }}", "MAX_INT_BITS"),
    "doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "MAX_OUTPUT_CHARS",
    ),
    "wide-center": ("{{ 'a'|center(10**9) }}", "MAX_WIDTH"),
    "wide-format": ("{{ '%0999999999d'|format(1) }}", "MAX_WIDTH"),
    "wide-ljust": ("{{ 'a'.ljust(10**9) }}", "MAX_WIDTH"),
    "big-output": ("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}", "MAX_OUTPUT_CHARS"),
}


def with_hostile_template(body: str, variables: tuple[str, ...] = ()) -> str:
    def change(data: dict[str, Any]) -> None:
        data["templates"].append({"id": "hostile", "body": body, "variables": list(variables)})

    return modified(example_text("mombaby-refined"), change)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_template_is_refused_at_validate_with_its_field_path(name: str) -> None:
    body, limit = HOSTILE[name]
    text = with_hostile_template(body)
    index = len(parse_document(text).templates) - 1
    with pytest.raises(DocumentInvalid) as caught:
        validate_text(text, "sop.yaml")
    [problem] = caught.value.problems
    assert problem.path == f"templates[{index}].body"
    assert problem.message.startswith("fails to render with sample values: ")
    assert limit in problem.message
    assert "\n" not in str(problem)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_same_limits_hold_at_send_time(name: str) -> None:
    body, limit = HOSTILE[name]
    doc = parse_document(with_hostile_template(body))  # the schema alone lets it through
    with pytest.raises(TemplateRenderError, match=limit) as caught:
        render(doc, "hostile", {})
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("mombaby-refined: template 'hostile': ")


def test_a_missing_attribute_of_a_sample_value_is_not_a_refusal() -> None:
    """Sample values cannot know a custom variable's shape; only the template's own failures
    (and the limits) are refused."""
    doc = parse_document(with_hostile_template("{{ order.total }} {{ day + 1 }}", ("order", "day")))
    assert check_templates(doc) == []


def test_every_example_validates_and_renders_as_plain_jinja_does() -> None:
    plain = SandboxedEnvironment(autoescape=False)
    checks = check_files([EXAMPLES])
    assert checks and all(check.problems == () for check in checks)
    for check in checks:
        doc = check.document
        assert doc is not None
        for template in doc.templates:
            values = sample_variables(template.variables, doc.document_variables())
            for text in template.texts().values():
                expected = plain.from_string(text).render(values).rstrip()
                assert render_text(text, values) == expected


def test_the_mombaby_welcome_renders_unchanged() -> None:
    doc = example("mombaby-refined")
    message = render(doc, "welcome", {**doc.document_variables(), "member_name": "小红"})
    assert message.text.startswith("@小红 欢迎新妈妈加入宝妈成长营！")
