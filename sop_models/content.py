"""The content library (素材库): items classed by category, form and style, named by tag.

A tag reads `YYYYMM 类别-主题-形式`, e.g. `202503 促活-育儿干货-图文`. The separators may be
'-', '–' or '—' with optional spaces; tags are stored normalised (one space after the month,
plain '-' without spaces), so `202503 促活 – 育儿干货 – 图文` and `202503 促活-育儿干货-图文`
are the same tag. The category and form inside a tag are written in Chinese and must match
the item's `category` and `form` fields.

Enum values are English in the stored document; Chinese aliases are accepted on input:
category 促活/转化/品牌, form 图文/短视频/语音, style 官方/幽默/温馨/邻家.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema

from sop_models.values import SopModel, Text, aliased

CategoryName = Literal["activation", "conversion", "brand"]
FormName = Literal["text_image", "short_video", "voice"]
StyleName = Literal["official", "humorous", "warm", "neighbourly"]

CATEGORY_LABELS: dict[str, str] = {"activation": "促活", "conversion": "转化", "brand": "品牌"}
FORM_LABELS: dict[str, str] = {"text_image": "图文", "short_video": "短视频", "voice": "语音"}
STYLE_LABELS: dict[str, str] = {
    "official": "官方",
    "humorous": "幽默",
    "warm": "温馨",
    "neighbourly": "邻家",
}
CATEGORY_ALIASES = {label: name for name, label in CATEGORY_LABELS.items()}
FORM_ALIASES = {label: name for name, label in FORM_LABELS.items()}
STYLE_ALIASES = {label: name for name, label in STYLE_LABELS.items()}

Category = aliased(CategoryName, CATEGORY_ALIASES)
Form = aliased(FormName, FORM_ALIASES)
Style = aliased(StyleName, STYLE_ALIASES)

_TAG = re.compile(r"\s*(\d{4})(\d{2})\s*(.*?)\s*")
_SEPARATOR = re.compile(r"\s*[-–—]\s*")


@dataclass(frozen=True)
class TagParts:
    """A parsed content tag."""

    month: str  # "YYYYMM"
    category: CategoryName
    topic: str
    form: FormName

    def __str__(self) -> str:
        category, form = CATEGORY_LABELS[self.category], FORM_LABELS[self.form]
        return f"{self.month} {category}-{self.topic}-{form}"


def parse_tag(text: str) -> TagParts:
    """Parse `YYYYMM 类别-主题-形式`; ValueError says what is wrong."""
    example = "e.g. '202503 促活-育儿干货-图文'"
    match = _TAG.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a content tag 'YYYYMM 类别-主题-形式' ({example})")
    year, month, rest = match.groups()
    if not 1 <= int(month) <= 12:
        raise ValueError(f"{text!r}: month {month} is not 01-12")
    parts = _SEPARATOR.split(rest)
    if len(parts) != 3 or not all(parts):
        raise ValueError(
            f"{text!r} needs three parts 类别-主题-形式 separated by '-' ({example}); "
            "the topic itself may not contain '-'"
        )
    category, topic, form = parts
    if category not in CATEGORY_ALIASES:
        raise ValueError(f"{text!r}: category {category!r} is not one of 促活, 转化, 品牌")
    if form not in FORM_ALIASES:
        raise ValueError(f"{text!r}: form {form!r} is not one of 图文, 短视频, 语音")
    return TagParts(f"{year}{month}", CATEGORY_ALIASES[category], topic, FORM_ALIASES[form])  # type: ignore[arg-type]


def normalise_tag(text: str) -> str:
    """The canonical spelling of a content tag (ValueError if it is not one)."""
    return str(parse_tag(text))


ContentTag = Annotated[
    str,
    AfterValidator(normalise_tag),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*\d{6}\s*\S+?\s*[-–—]\s*\S.*?\s*[-–—]\s*\S+\s*$",
            "examples": ["202503 促活-育儿干货-图文"],
        }
    ),
]
"""A content tag `YYYYMM 类别-主题-形式`, stored normalised."""


class ContentItem(SopModel):
    """One piece of content in the library; actions point at it by `tag`."""

    tag: ContentTag
    """`YYYYMM 类别-主题-形式`; category and form must match the fields below."""
    title: Text
    category: Category
    """activation (促活), conversion (转化) or brand (品牌)."""
    form: Form
    """text_image (图文), short_video (短视频) or voice (语音)."""
    style: Style
    """official (官方), humorous (幽默), warm (温馨) or neighbourly (邻家)."""
    body: Text | None = None
    """The copy itself (for text+image items) or a script outline."""
    media: Text | None = None
    """File path or URL of the image, video or voice clip."""

    @property
    def parts(self) -> TagParts:
        """The parsed tag."""
        return parse_tag(self.tag)
