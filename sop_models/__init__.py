"""The SOP domain: typed, frozen models of an SOP document. Imports no infrastructure.

Entry points: `parse_document(text, source)`, `load_document(path)`, `dump_document(doc)`,
`document_schema()`, `template_variables(body)`. Every validation failure raises
`DocumentInvalid` listing all problems, one line each: `file: field.path: problem`.
"""

from sop_models.campaigns import (
    Campaign,
    CampaignAction,
    CampaignWindow,
    CheckIn,
    Coupon,
    GroupBuy,
    ScarcityRule,
)
from sop_models.community import (
    BaseContent,
    FaqReply,
    Penalty,
    Positioning,
    Poster,
    Roles,
    Rules,
    Welcome,
)
from sop_models.content import ContentItem, TagParts, normalise_tag, parse_tag
from sop_models.day_rules import WEEKDAY_NUMBERS
from sop_models.document import SopDocument, document_schema
from sop_models.errors import DocumentInvalid, Problem
from sop_models.kpis import (
    METRIC_LABELS,
    METRIC_STAGE,
    METRICS,
    RATE_METRICS,
    AlertRule,
    Kpis,
    KpiTarget,
    Metric,
)
from sop_models.playbooks import (
    ColdStart,
    ColdStartAction,
    ColdStartHook,
    Countdown,
    FlashSale,
    Mature,
    Playbooks,
    RfmSegment,
    RfmTask,
)
from sop_models.schedule import (
    CalendarColumn,
    CalendarDate,
    Column,
    OnJoinAction,
    Schedule,
)
from sop_models.templates import STANDARD_VARIABLES, MessageTemplate, MsgType, template_variables
from sop_models.triggers import CountTrigger
from sop_models.values import parse_time
from sop_models.yaml_io import (
    document_data,
    dump_document,
    dumps_json,
    load_document,
    parse_document,
    read_data,
    validate_data,
)

__all__ = [
    "METRICS",
    "METRIC_LABELS",
    "METRIC_STAGE",
    "RATE_METRICS",
    "STANDARD_VARIABLES",
    "WEEKDAY_NUMBERS",
    "AlertRule",
    "BaseContent",
    "CalendarColumn",
    "CalendarDate",
    "Campaign",
    "CampaignAction",
    "CampaignWindow",
    "CheckIn",
    "ColdStart",
    "ColdStartAction",
    "ColdStartHook",
    "Column",
    "ContentItem",
    "CountTrigger",
    "Countdown",
    "Coupon",
    "DocumentInvalid",
    "FaqReply",
    "FlashSale",
    "GroupBuy",
    "KpiTarget",
    "Kpis",
    "Mature",
    "MessageTemplate",
    "Metric",
    "MsgType",
    "OnJoinAction",
    "Penalty",
    "Playbooks",
    "Positioning",
    "Poster",
    "Problem",
    "RfmSegment",
    "RfmTask",
    "Roles",
    "Rules",
    "ScarcityRule",
    "Schedule",
    "SopDocument",
    "TagParts",
    "Welcome",
    "document_data",
    "document_schema",
    "dump_document",
    "dumps_json",
    "load_document",
    "normalise_tag",
    "parse_document",
    "parse_tag",
    "parse_time",
    "read_data",
    "template_variables",
    "validate_data",
]
