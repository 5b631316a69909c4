"""Import a content calendar (内容排期表) from the spreadsheet ops keep into an SOP document.

The file is CSV or XLSX (first sheet) with the columns `date, slot, tag`: `slot` is a column
id (`morning-knowledge`, or `columns.morning-knowledge` as `sop plan` prints it), `tag` a
content library tag. Every row is checked against the document first; one bad row refuses
the whole file (every bad row listed by line) and the document is left as it was. Good rows
are merged into each column's `content.schedule` (a date already scheduled is replaced) and
the document is written back in canonical form, ready for `sop save`.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sop_models import SopDocument, dump_document, load_document, normalise_tag, validate_data
from sop_models.errors import BadRowsError, DataFileError, Problem
from sop_models.yaml_io import document_data

COLUMNS = ("date", "slot", "tag")
Row = tuple[int, dict[str, Any]]


def _csv_rows(path: Path) -> Iterator[Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot read: {err}") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    _check_header(path, header)
    for line, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            yield line, dict(zip(header, cells, strict=False)) | {"_extra": len(cells) > 3}


def _xlsx_rows(path: Path) -> Iterator[Row]:
    from openpyxl import load_workbook  # imported here: only XLSX imports need it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a broken file
        raise DataFileError(f"{path}: not a readable XLSX file: {err}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(rows, ())]
        _check_header(path, header)
        for line, cells in enumerate(rows, start=2):
            values = ["" if c is None else c for c in cells]
            if any(str(v).strip() for v in values):
                extra = any(str(v).strip() for v in values[3:])
                yield line, dict(zip(header, values, strict=False)) | {"_extra": extra}
    finally:
        book.close()


def _check_header(path: Path, header: list[str]) -> None:
    if tuple(h for h in header if h) != COLUMNS:
        raise DataFileError(f"{path}: line 1: the header must be `date,slot,tag`, not {header}")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def read_content_calendar(path: Path, doc: SopDocument) -> dict[str, dict[date, str]]:
    """Rows of the file by column id -> date -> tag; BadRowsError lists each bad row."""
    reader = _xlsx_rows if path.suffix.lower() in {".xlsx", ".xlsm"} else _csv_rows
    columns = {c.id for c in doc.schedule.columns}
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
        slot = str(row.get("slot", "")).strip().removeprefix("columns.")
        if slot not in columns:
            reasons.append(
                f"slot {slot!r} is not a column of {doc.id} ({', '.join(sorted(columns))})"
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
    """Merge the file's rows into `document` (written back whole or not at all): rows per column."""
    doc = load_document(document)
    rows = read_content_calendar(file, doc)
    data = document_data(doc)
    for column in data["schedule"]["columns"]:
        entries = rows.get(column["id"])
        if not entries:
            continue
        content = column.setdefault("content", {})
        merged = {e["date"]: e["tag"] for e in content.get("schedule", [])} | entries
        content["schedule"] = [{"date": d, "tag": t} for d, t in sorted(merged.items())]
    text = dump_document(validate_data(data, str(document)))
    fd, name = tempfile.mkstemp(dir=document.parent, prefix=f".{document.name}.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        tmp.replace(document)
    finally:
        tmp.unlink(missing_ok=True)
    return {column: len(entries) for column, entries in rows.items()}
