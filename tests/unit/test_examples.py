"""The example SOPs: valid, round-trippable, and together they use the whole schema."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from pydantic import BaseModel

from sop_models import (
    STANDARD_VARIABLES,
    AlertRule,
    CalendarDate,
    Campaign,
    Column,
    ContentItem,
    KpiTarget,
    MessageTemplate,
    ScarcityRule,
    SopDocument,
    document_schema,
    dump_document,
    load_document,
    parse_document,
    read_data,
    template_variables,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ["mombaby-refined", "flash-sale-promo", "jewelry-service", "mombaby-weekly-jielong"]


@pytest.fixture(scope="module")
def docs() -> dict[str, SopDocument]:
    return {name: load_document(EXAMPLES / f"{name}.yaml") for name in NAMES}


def test_the_examples_folder_holds_exactly_the_examples() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_example_validates_under_its_file_name_and_round_trips(
    name: str, docs: dict[str, SopDocument]
) -> None:
    doc = docs[name]
    assert doc.id == name
    assert parse_document(dump_document(doc)) == doc


def _walk(obj: Any, visit: Any) -> None:
    if isinstance(obj, BaseModel):
        visit(obj)
        for name in type(obj).model_fields:
            _walk(getattr(obj, name), visit)
    elif isinstance(obj, tuple):
        for item in obj:
            _walk(item, visit)


def _model_classes(cls: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    def inner(tp: Any) -> list[Any]:
        return [tp, *(t for arg in get_args(tp) for t in inner(arg))]

    if cls not in seen:
        seen.add(cls)
        for field in cls.model_fields.values():
            for tp in inner(field.annotation):
                if isinstance(tp, type) and issubclass(tp, BaseModel):
                    _model_classes(tp, seen)
    return seen


def test_together_the_examples_set_every_field_of_every_model(
    docs: dict[str, SopDocument],
) -> None:
    used: dict[str, set[str]] = defaultdict(set)
    for doc in docs.values():
        _walk(doc, lambda m: used[type(m).__name__].update(m.model_fields_set))
    # the flash sale runs on its own weekday: weekdays and except_weekdays are refused there
    used["FlashSale"] |= {"weekdays", "except_weekdays"}
    missing = {
        cls.__name__: sorted(set(cls.model_fields) - used[cls.__name__])
        for cls in _model_classes(SopDocument, set())
        if set(cls.model_fields) - used[cls.__name__]
    }
    assert missing == {}


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (SopDocument, "community_type"),
        (ContentItem, "category"),
        (ContentItem, "form"),
        (ContentItem, "style"),
        (MessageTemplate, "msgtype"),
        (Column, "days"),
        (CalendarDate, "calendar"),
        (Campaign, "kind"),
        (ScarcityRule, "kind"),
        (KpiTarget, "direction"),
        (AlertRule, "operator"),
    ],
)
def test_together_the_examples_use_every_value_of_the_main_enums(
    model: type[BaseModel], field: str, docs: dict[str, SopDocument]
) -> None:
    seen: set[Any] = set()
    for doc in docs.values():
        _walk(doc, lambda m: seen.add(getattr(m, field)) if isinstance(m, model) else None)
    annotation = model.model_fields[field].annotation
    if type(None) in get_args(annotation):  # optional in overlays: the values of the rest
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
        annotation = get_args(annotation)[0]  # Annotated[Literal[...], alias validator]
        seen.discard(None)
    assert seen == set(get_args(annotation))


def test_example_templates_read_only_the_variables_the_planner_supplies(
    docs: dict[str, SopDocument],
) -> None:
    for doc in docs.values():
        for template in doc.templates:
            used = set().union(*(template_variables(t) for t in template.texts().values()))
            assert used <= set(STANDARD_VARIABLES), (doc.id, template.id)


def test_the_first_10_00_in_mombaby_is_a_column_time() -> None:
    # the store and CLI tests break this example by replacing the first "10:00"
    text = (EXAMPLES / "mombaby-refined.yaml").read_text(encoding="utf-8")
    with pytest.raises(Exception, match=r"schedule\.columns\[0\]\.time: '25:00'"):
        parse_document(text.replace("10:00", "25:00", 1))


def test_the_json_schema_is_serialisable_and_accepts_every_example() -> None:
    schema = document_schema()
    text = json.dumps(schema, ensure_ascii=False)
    assert "\\u" not in text and "schedule" in schema["properties"]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in NAMES:
        raw = read_data((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
        as_json = json.loads(json.dumps(raw, ensure_ascii=False, default=str))
        errors = [e.message for e in validator.iter_errors(as_json)]
        assert errors == [], name


def test_the_json_schema_refuses_what_the_model_refuses() -> None:
    validator = jsonschema.Draft202012Validator(document_schema())
    raw = read_data((EXAMPLES / "mombaby-refined.yaml").read_text(encoding="utf-8"))
    raw["schedule"]["columns"][0]["time"] = "25:00"
    raw["roles"]["admins"] = ["甲", "乙", "丙", "丁"]
    raw["community_type"] = "社交型"
    data = json.loads(json.dumps(raw, ensure_ascii=False, default=str))
    paths = {tuple(e.absolute_path) for e in validator.iter_errors(data)}
    assert paths == {("schedule", "columns", 0, "time"), ("roles", "admins"), ("community_type",)}
