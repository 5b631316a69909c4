"""The content calendar (内容排期表): which library item a column posts on which day.

A column's `content` draws from the library by rule, most specific first:
1. `schedule`: explicit dates -> tags (what ops keep in a spreadsheet; `sop content import`);
2. `rotate`: the library items of a category / topic / form, in library order, one per post,
   cycling; the post count starts at `rotate.start` so every plan window agrees; with
   `skip_recent_days: N` the rotation passes over items used in the last N days (by any
   column, including the fixed and scheduled ones) and goes on from the item it took;
3. the column's own `content_tag` (a fixed tag, as before).
A day with none of them is a calendar gap: the post is left out and the plan warns. The plan
also warns when one column posts the same item twice within `repeat_days`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from sop_models.content import Category, ContentTag, Form
from sop_models.values import IsoDate, Items, SopModel, Text


class ContentEntry(SopModel):
    """One row of the content calendar: on `date`, post item `tag`."""

    date: IsoDate
    tag: ContentTag


class ContentRotation(SopModel):
    """Rotate through the library items that match every given filter, in library order."""

    category: Category | None = None
    """activation (促活), conversion (转化) or brand (品牌)."""
    topic: Text | None = None
    """e.g. 育儿干货 (the middle part of the tag)."""
    form: Form | None = None
    start: IsoDate = date(2026, 1, 1)
    """The rotation's first post takes the first item; later posts count from this date."""
    skip_recent_days: Annotated[int, Field(ge=0, le=365)] = 0
    """Skip an item posted in the last N days (this day included) by any column of the SOP,
    by the layers planned before it, or as the caller's recent history; 0: never skip."""


class ContentPlan(SopModel):
    """Where a column's content comes from (see the module docstring)."""

    schedule: Items[ContentEntry] = ()
    rotate: ContentRotation | None = None
    repeat_days: Annotated[int, Field(ge=0, le=365)] = 14
    """Warn when the column posts one item twice within this many days (0: never warn)."""
