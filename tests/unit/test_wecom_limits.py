"""`sop validate` reports texts over WeCom's byte limits with their field path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sop_models import DocumentInvalid, parse_document, read_data
from sop_models.wecom_limits import byte_size, template_limit_problems

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "mombaby-refined.yaml").read_text(
    encoding="utf-8"
)


def with_templates(*templates: dict[str, Any]) -> str:
    data = read_data(EXAMPLE)
    data["templates"] = [*data["templates"], *templates]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def problems(text: str) -> list[str]:
    with pytest.raises(DocumentInvalid) as info:
        parse_document(text, "bad.yaml")
    return str(info.value).splitlines()


def test_a_text_over_4000_bytes_is_reported_at_its_body() -> None:
    index = len(read_data(EXAMPLE)["templates"])
    lines = problems(with_templates({"id": "long", "msgtype": "text", "body": "好" * 1334}))
    assert any(
        line.startswith(f"bad.yaml: templates[{index}].body: text is 4002 bytes")
        and "at most 4000" in line
        for line in lines
    ), lines


def test_a_text_of_1333_chinese_characters_fits() -> None:
    assert byte_size("好" * 1333) == 3999
    ok = [{"id": "fits", "msgtype": "text", "body": "好" * 1333}]
    assert template_limit_problems(ok) == []


def test_news_title_and_description_have_byte_limits() -> None:
    news = {
        "id": "card",
        "msgtype": "news",
        "title": "标" * 43,  # 129 bytes
        "body": "描" * 171,  # 513 bytes
        "url": "https://example.com/a",
    }
    found = dict(template_limit_problems([news]))
    assert "news title is 129 bytes" in found["templates[0].title"]
    assert "news description is 513 bytes" in found["templates[0].body"]
    assert "templates[0].url" not in found


def test_markdown_over_4096_bytes_is_reported() -> None:
    found = template_limit_problems([{"id": "md", "msgtype": "markdown", "body": "a" * 4097}])
    assert found == [
        (
            "templates[0].body",
            "markdown is 4097 bytes, WeCom takes at most 4096 (a Chinese character is 3)",
        )
    ]
