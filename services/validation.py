"""Full document validation: the schema's checks plus Jinja template checks from the engine.

Kept light on purpose: `sop validate` imports this module and nothing of the workspace wiring
(no database, no git), so it starts as fast as the models and Jinja allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from engine.calendar import LIBRARY_ONLY, WorkdayCalendar
from engine.planner import Layer, plan_layers
from engine.planner.spacing import undeclared_quiet_warnings
from engine.template_checks import check_templates
from sop_models import SopDocument, parse_document
from sop_models.errors import DataFileError, DocumentInvalid, Problem, SopflowError

LOOK_AHEAD_DAYS = 28
"""How far `sop validate` plans a document to find collisions, calendar gaps and repeats."""


@dataclass(frozen=True)
class FileCheck:
    """The outcome of validating one file: its document, or every problem found."""

    path: Path
    document: SopDocument | None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    """What the plan of the next days warns about (never a failure)."""


@dataclass(frozen=True)
class SampleGroup:
    """The one group a document is planned for at validation: it starts on the first day, so
    the cold start and the mature phase both show."""

    id: str
    name: str
    start_date: date
    channel: str = "console"
    target: str = ""
    sender: str = ""


def overlay_layer(doc: SopDocument) -> Layer:
    """An overlay document (a file, not yet saved) as a layer at its declared priority."""
    return Layer(doc, "draft", doc.overlay.priority if doc.overlay is not None else 0)


def plan_warnings(
    doc: SopDocument,
    *,
    start: date,
    overlays: Sequence[Layer] = (),
    days: int = LOOK_AHEAD_DAYS,
    calendar: WorkdayCalendar = LIBRARY_ONLY,
) -> list[str]:
    """The warnings of `doc`'s plan (with `overlays` laid over it) for one sample group from
    `start` for `days` days: collisions (naming both slots, the date and which one priority
    keeps), calendar gaps, items repeated too soon, quiet hours (and posts or welcomes at night
    without them), the mass-message cap."""
    group = SampleGroup("sample", "示例群", start)
    try:
        result = plan_layers(
            base=Layer(doc, "draft"),
            overlays=overlays,
            groups=[group],
            start=start,
            end=start + timedelta(days - 1),
            calendar=calendar,
        )
    except SopflowError as err:
        return [f"could not plan {start}..+{days} days: {err}"]
    schedule = doc.schedule
    night = undeclared_quiet_warnings(schedule.quiet_hours, bool(schedule.on_join), result.actions)
    return night + result.warnings


def validate_text(text: str, source: str) -> SopDocument:
    """Parse and validate a document under the loader's limits (size, aliases, nesting);
    every template must parse, use declared variables, and render with sample values under
    the render limits (`engine.template_sandbox`), so that planning never meets a broken
    template."""
    doc = parse_document(text, source)
    problems = check_templates(doc, source=source)
    if problems:
        raise DocumentInvalid(problems)
    return doc


def read_document_text(path: Path) -> str:
    """A document file's text, or a one-line error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: {_unreadable(err)}") from None


def _unreadable(err: OSError | UnicodeDecodeError) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file"
    return f"cannot read: {err.__class__.__name__}"


def document_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their YAML files, keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            found.append(path)
    return found


def check_files(
    paths: Iterable[Path],
    *,
    plan_from: date | None = None,
    overlays: Sequence[Layer] = (),
    attached: Callable[[str], Sequence[Layer]] | None = None,
    calendar: WorkdayCalendar = LIBRARY_ONLY,
) -> list[FileCheck]:
    """Validate every file (folders expand to their YAML files); an unreadable file is a
    problem of that file, so one bad path does not hide the others' results. With
    `plan_from`, each valid document also gets its plan's warnings (`plan_warnings`), with
    `overlays` and the layers `attached(id)` (the workspace's attachments) laid over a base."""
    checks: list[FileCheck] = []
    for path in document_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            checks.append(FileCheck(path, None, (Problem(str(path), "", _unreadable(err)),)))
            continue
        try:
            checks.append(FileCheck(path, validate_text(text, str(path))))
        except DocumentInvalid as err:
            checks.append(FileCheck(path, None, tuple(err.problems)))
    if plan_from is None:
        return checks
    found = []
    for check in checks:
        doc = check.document
        if doc is not None:
            laid, warnings = ([], []) if doc.overlay else ([*overlays], [])
            try:
                laid += attached(doc.id) if attached and not doc.overlay else []
            except SopflowError as err:
                warnings.append(f"attached overlays not laid over it: {err}")
            warnings += plan_warnings(doc, start=plan_from, overlays=laid, calendar=calendar)
            check = FileCheck(check.path, doc, check.problems, tuple(warnings))
        found.append(check)
    return found
