"""What a community is: positioning, type, purpose, roles, rules and base content (弹药包).

Enum values are English in the stored document; Chinese aliases are accepted on input:
community type 群发推广型/精细化运营型/客户服务型, group purpose 引流群/福利群/快闪群
(also without 群).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from sop_models.content import ContentTag
from sop_models.values import Items, Key, NonEmptyItems, SopModel, Text, aliased, as_tuple

CommunityTypeName = Literal["promotion", "refined_ops", "customer_service"]
GroupPurposeName = Literal["traffic", "welfare", "flash"]

COMMUNITY_TYPE_ALIASES = {
    "群发推广型": "promotion",
    "精细化运营型": "refined_ops",
    "客户服务型": "customer_service",
}
GROUP_PURPOSE_ALIASES = {
    "引流群": "traffic",
    "福利群": "welfare",
    "快闪群": "flash",
    "引流": "traffic",
    "福利": "welfare",
    "快闪": "flash",
}

CommunityType = aliased(CommunityTypeName, COMMUNITY_TYPE_ALIASES)
"""promotion (群发推广型: high frequency, low price, coupons), refined_ops (精细化运营型:
content and check-ins), customer_service (客户服务型: high price, low frequency, after-sales)."""

GroupPurpose = aliased(GroupPurposeName, GROUP_PURPOSE_ALIASES)
"""traffic (引流群), welfare (福利群: conversion and repurchase), flash (快闪群: one campaign)."""


Admins = Annotated[tuple[Text, ...], Field(min_length=1, max_length=3), BeforeValidator(as_tuple)]


class Positioning(SopModel):
    """社群定位: target users + core pain point + solution."""

    target_users: Text
    """e.g. 25-35 岁职场女性."""
    pain_point: Text
    solution: Text
    """e.g. 每周 3 次穿搭教程 + 会员专属折扣."""


class Roles(SopModel):
    """The 1+3 team: owner, 1-3 admins, content lead, atmosphere crew (KOC)."""

    owner: Text
    """群主: runs the group."""
    admins: Admins
    """管理员: 1 to 3 per group."""
    content_lead: Text
    """内容官: produces the content."""
    koc_crew: Items[Text] = ()
    """气氛组 / KOC: active members who warm the group up."""


class Penalty(SopModel):
    """What happens when a rule is broken."""

    violation: Text
    consequence: Text


class Rules(SopModel):
    """Three don'ts (no ads, no spamming, no quarrels), three musts, and penalties."""

    donts: NonEmptyItems[Text]
    musts: NonEmptyItems[Text]
    penalties: Items[Penalty] = ()


class Welcome(SopModel):
    """The welcome text in three parts, sent in this order."""

    warmth: Text
    """Greeting at once, e.g. 欢迎宝妈入群."""
    value: Text
    """What the member gets here."""
    rules: Text
    """Where the announcement is and what is forbidden."""


class FaqReply(SopModel):
    """Keyword auto-reply: a message containing any keyword gets the answer."""

    id: Key
    keywords: NonEmptyItems[Text]
    answer: Text


class Poster(SopModel):
    """An event poster kept ready in the base content."""

    id: Key
    title: Text
    image: Text
    """File path or URL of the poster image."""
    content_tag: ContentTag | None = None
    """Library item the poster belongs to."""


class BaseContent(SopModel):
    """弹药包: texts every operator uses the same way."""

    welcome: Welcome
    self_intro_template: Text
    """What a new member is asked to post, e.g. 昵称 + 城市 + 宝宝月龄."""
    announcement: Text
    """群公告."""
    faq: Items[FaqReply] = ()
    posters: Items[Poster] = ()
