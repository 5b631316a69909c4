"""Cross-field checks of an SOP document, run on plain data (dicts and lists).

They run on whatever parsed, even when the structure has errors, so a user sees every
problem at once. Each check skips values of the wrong type: the structural pass reports
those. A finding is `(field path, message)` with paths like `schedule.columns[2].time`.
"""

from __future__ import annotations

from typing import Any

from sop_models.checks_content import check_content
from sop_models.checks_timing import check_timing
from sop_models.content import (
    CATEGORY_ALIASES,
    CATEGORY_LABELS,
    FORM_ALIASES,
    FORM_LABELS,
    parse_tag,
)
from sop_models.kpis import RATE_METRICS
from sop_models.plain import Finding, at, dicts, join
from sop_models.templates import template_variables
from sop_models.values import canonical_value
from sop_models.wecom_limits import template_limit_problems

INHERITED = ("positioning", "community_type", "group_purpose", "roles", "rules", "base_content")
"""Sections every SOP needs except an overlay, which inherits them from its base SOP."""


def semantic_problems(data: Any) -> list[Finding]:
    """Every cross-field problem of a document given as plain data."""
    if not isinstance(data, dict):
        return []
    out: list[Finding] = []
    _unique_ids(data, "", out)
    template_ids = _check_templates(data.get("templates"), out)
    out.extend(template_limit_problems(data.get("templates")))
    tags = _check_library(data.get("content_library"), out)
    _check_references(data, "", template_ids, tags, out)
    _check_faq(at(data, "base_content", "faq"), out)
    _check_kpis(data.get("kpis"), out)
    out.extend(check_timing(data))
    out.extend(check_content(data, tags))
    if data.get("overlay") is None:  # only an overlay inherits these from its base
        out += [(name, "is required") for name in INHERITED if data.get(name) is None]
    return out


def _unique_ids(value: Any, path: str, out: list[Finding]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _unique_ids(item, join(path, str(key)), out)
        return
    if not isinstance(value, list | tuple):
        return
    seen: dict[str, str] = {}
    for item_path, item in dicts(value, path):
        ident = item.get("id")
        if isinstance(ident, str):
            if ident in seen:
                out.append((f"{item_path}.id", f"duplicate id {ident!r} (also {seen[ident]})"))
            else:
                seen[ident] = f"{item_path}.id"
    for index, item in enumerate(value):
        _unique_ids(item, f"{path}[{index}]", out)


def _check_templates(templates: Any, out: list[Finding]) -> set[str] | None:
    if not isinstance(templates, list | tuple):
        return None
    ids: set[str] = set()
    for path, tpl in dicts(templates, "templates"):
        if isinstance(tpl.get("id"), str):
            ids.add(tpl["id"])
        declared: set[str] = set()
        names = tpl.get("variables")
        for index, name in enumerate(names if isinstance(names, list | tuple) else ()):
            if isinstance(name, str) and name in declared:
                out.append((f"{path}.variables[{index}]", f"variable {name!r} declared twice"))
            if isinstance(name, str):
                declared.add(name)
        for field in ("title", "body", "url"):
            if isinstance(tpl.get(field), str):
                _check_variables(tpl[field], declared, f"{path}.{field}", out)
        _check_msgtype(tpl, path, out)
    return ids


def _check_variables(text: str, declared: set[str], path: str, out: list[Finding]) -> None:
    try:
        used = template_variables(text)
    except ValueError as err:
        out.append((path, str(err)))
        return
    missing = sorted(used - declared)
    if missing:
        names = ", ".join(repr(name) for name in missing)
        out.append((path, f"uses undeclared variable(s) {names}: add them to variables"))


def _check_msgtype(tpl: dict[str, Any], path: str, out: list[Finding]) -> None:
    if tpl.get("msgtype") == "news":
        for field in ("title", "url"):
            if tpl.get(field) is None:
                out.append((f"{path}.{field}", f"a news template needs a {field}"))
        return
    for field in ("title", "url", "picurl"):
        if tpl.get(field) is not None:
            out.append((f"{path}.{field}", f"{field} applies to news templates only"))


def _check_library(items: Any, out: list[Finding]) -> set[str] | None:
    if not isinstance(items, list | tuple):
        return None
    seen: dict[str, str] = {}
    for path, item in dicts(items, "content_library"):
        raw = item.get("tag")
        if not isinstance(raw, str):
            continue
        try:
            parts = parse_tag(raw)
        except ValueError:
            continue  # the structural pass reports a malformed tag
        tag, where = str(parts), f"{path}.tag"
        if tag in seen:
            out.append((where, f"duplicate content tag {tag!r} (also {seen[tag]})"))
        else:
            seen[tag] = where
        category = canonical_value(item.get("category"), CATEGORY_ALIASES)
        if category in CATEGORY_LABELS and category != parts.category:
            out.append(
                (
                    where,
                    f"tag category {CATEGORY_LABELS[parts.category]} does not match "
                    f"category {category!r} ({CATEGORY_LABELS[category]})",
                )
            )
        form = canonical_value(item.get("form"), FORM_ALIASES)
        if form in FORM_LABELS and form != parts.form:
            out.append(
                (
                    where,
                    f"tag form {FORM_LABELS[parts.form]} does not match "
                    f"form {form!r} ({FORM_LABELS[form]})",
                )
            )
    return set(seen)


def _check_references(
    value: Any,
    path: str,
    template_ids: set[str] | None,
    tags: set[str] | None,
    out: list[Finding],
) -> None:
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_references(item, f"{path}[{index}]", template_ids, tags, out)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        where = join(path, str(key))
        if key == "template" and isinstance(item, str) and template_ids is not None:
            if item not in template_ids:
                out.append((where, f"unknown template {item!r} (not in templates)"))
        elif key == "content_tag" and isinstance(item, str) and tags is not None:
            try:
                tag = str(parse_tag(item))
            except ValueError:
                continue
            if tag not in tags:
                out.append((where, f"unknown content tag {tag!r} (not in content_library)"))
        else:
            _check_references(item, where, template_ids, tags, out)


def _check_faq(faq: Any, out: list[Finding]) -> None:
    owner: dict[str, str] = {}
    for path, entry in dicts(faq, "base_content.faq"):
        keywords = entry.get("keywords")
        if not isinstance(keywords, list | tuple):
            continue
        for index, word in enumerate(keywords):
            if not isinstance(word, str):
                continue
            if word in owner and owner[word] != path:
                out.append(
                    (f"{path}.keywords[{index}]", f"keyword {word!r} already answers {owner[word]}")
                )
            owner.setdefault(word, path)


def _check_kpis(kpis: Any, out: list[Finding]) -> None:
    seen: dict[str, str] = {}
    for path, target in dicts(at(kpis, "targets"), "kpis.targets"):
        metric = target.get("metric")
        if isinstance(metric, str):
            if metric in seen:
                message = f"duplicate target for {metric} (also {seen[metric]})"
                out.append((f"{path}.metric", message))
            seen.setdefault(metric, path)
        _check_rate(metric, target.get("target"), f"{path}.target", out)
    for path, rule in dicts(at(kpis, "alerts"), "kpis.alerts"):
        _check_rate(rule.get("metric"), rule.get("threshold"), f"{path}.threshold", out)


def _check_rate(metric: Any, value: Any, path: str, out: list[Finding]) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(metric, str) and metric in RATE_METRICS and number and not 0 <= value <= 1:
        out.append((path, f"{metric} is a fraction 0..1 (20% is 0.2), got {value}"))
