"""Import a content calendar (内容排期表) from the spreadsheet ops keep into an SOP document.

The file is CSV or XLSX (first sheet) with the columns `date, slot, tag` in any order, or
their Chinese headers (`HEADER_ALIASES`: 日期 / 栏目, 时段 / 素材, 标签): `slot` is a column id
(`morning-knowledge`, or `columns.morning-knowledge` as `sop plan` prints it) or a campaign
action (`campaigns.jielong.open`, or `jielong.open`), `tag` a content library tag. Every row
is checked against the document first; one bad row refuses the whole file (every bad row
listed by line) and the document is left as it was. Good rows are merged into each slot's
`content.schedule` (a date already scheduled is replaced) by a minimal edit of the document's
text (`services.content_yaml`: comments, key order and Chinese spellings stay), ready for
`sop save`.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.content_yaml import merge_schedules
from sop_models import SopDocument, load_document, normalise_tag, parse_document
from sop_models.errors import BadRowsError, DataFileError, Problem

COLUMNS = ("date", "slot", "tag")
HEADER_ALIASES = {
    "日期": "date",
    "排期日期": "date",
    "栏目": "slot",
    "时段": "slot",
    "栏目/时段": "slot",
    "素材": "tag",
    "标签": "tag",
    "素材标签": "tag",
}
"""Chinese headers a 内容排期表 may use for date, slot and tag."""
Row = tuple[int, dict[str, Any]]


def _csv_rows(path: Path) -> Iterator[Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot read: {err}") from None
    reader = csv.reader(text.splitlines())
    header = _check_header(path, next(reader, []))
    for line, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            extra = any(c.strip() for c in cells[len(header) :])
            yield line, dict(zip(header, cells, strict=False)) | {"_extra": extra}


def _xlsx_rows(path: Path) -> Iterator[Row]:
    from openpyxl import load_workbook  # imported here: only XLSX imports need it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a broken file
        raise DataFileError(f"{path}: not a readable XLSX file: {err}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = _check_header(path, next(rows, ()))
        for line, cells in enumerate(rows, start=2):
            values = ["" if c is None else c for c in cells]
            if any(str(v).strip() for v in values):
                extra = any(str(v).strip() for v in values[len(header) :])
                yield line, dict(zip(header, values, strict=False)) | {"_extra": extra}
    finally:
        book.close()


def _check_header(path: Path, cells: Iterable[object]) -> list[str]:
    """The header's cells as date/slot/tag (Chinese aliases read), trailing blanks dropped."""
    header = [str(c or "").strip() for c in cells]
    while header and not header[-1]:
        header.pop()
    named = [HEADER_ALIASES.get(h, h.lower()) for h in header]
    if sorted(named) != sorted(COLUMNS):
        raise DataFileError(
            f"{path}: line 1: the header must be date,slot,tag (or 日期,栏目,素材), not {header}"
        )
    return named


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def content_slots(doc: SopDocument) -> set[str]:
    """Every slot that takes a content calendar: `columns.ID` and `campaigns.ID.ACTION`."""
    found = {f"columns.{c.id}" for c in doc.schedule.columns}
    for campaign in doc.playbooks.campaigns:
        found |= {f"campaigns.{campaign.id}.{a.id}" for a in campaign.actions}
    return found


def _slot(typed: str, slots: set[str]) -> str | None:
    """The slot a row names: as `sop plan` prints it, or a column id / `campaign.action`."""
    for candidate in (typed, f"columns.{typed}", f"campaigns.{typed}"):
        if candidate in slots:
            return candidate
    return None


def read_content_calendar(path: Path, doc: SopDocument) -> dict[str, dict[date, str]]:
    """Rows of the file by slot (`columns.ID`, `campaigns.ID.ACTION`) -> date -> tag;
    BadRowsError lists each bad row."""
    reader = _xlsx_rows if path.suffix.lower() in {".xlsx", ".xlsm"} else _csv_rows
    slots = content_slots(doc)
    library = {item.tag for item in doc.content_library}
    found: dict[str, dict[date, str]] = {}
    problems: list[Problem] = []
    for line, row in reader(path):
        where, reasons = f"line {line}", []
        day = slot = tag = None
        try:
            day = _day(row.get("date", ""))
        except ValueError:
            reasons.append(f"date {str(row.get('date', ''))!r} is not YYYY-MM-DD")
        typed = str(row.get("slot", "")).strip()
        slot = _slot(typed, slots)
        if slot is None:
            reasons.append(
                f"slot {typed!r} is not a column or campaign action of {doc.id} "
                f"({', '.join(sorted(slots)) or 'none'})"
            )
        try:
            tag = normalise_tag(str(row.get("tag", "")))
            if tag not in library:
                reasons.append(f"tag {tag!r} is not in the content library")
        except ValueError as err:
            reasons.append(str(err))
        if row.get("_extra"):
            reasons.append("more cells than date,slot,tag")
        if not reasons and day in found.get(slot, {}):
            reasons.append(f"{slot} on {day} is listed twice")
        if reasons:
            problems.append(Problem(str(path), where, "; ".join(reasons)))
        else:
            found.setdefault(slot, {})[day] = tag  # type: ignore[index]
    if problems:
        raise BadRowsError(problems)
    if not found:
        raise DataFileError(f"{path}: no rows to import")
    return found


def import_content_calendar(*, file: Path, document: Path) -> dict[str, int]:
    """Merge the file's rows into `document` (written back whole or not at all, by a minimal
    edit of its text): rows per slot."""
    doc = load_document(document)
    rows = read_content_calendar(file, doc)
    text = merge_schedules(document.read_text(encoding="utf-8"), rows)
    parse_document(text, str(document))  # the edited text must still be a valid document
    fd, name = tempfile.mkstemp(dir=document.parent, prefix=f".{document.name}.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        tmp.replace(document)
    finally:
        tmp.unlink(missing_ok=True)
    return {slot: len(entries) for slot, entries in rows.items()}
