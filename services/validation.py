"""Full document validation: the schema's checks plus Jinja template checks from the engine.

Kept light on purpose: `sop validate` imports this module and nothing of the workspace wiring
(no database, no git), so it starts as fast as the models and Jinja allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.render import check_templates
from sop_models import SopDocument, parse_document
from sop_models.errors import DataFileError, DocumentInvalid, Problem


@dataclass(frozen=True)
class FileCheck:
    """The outcome of validating one file: its document, or every problem found."""

    path: Path
    document: SopDocument | None
    problems: tuple[Problem, ...] = ()


def validate_text(text: str, source: str) -> SopDocument:
    """Parse and validate a document under the loader's limits (size, aliases, nesting);
    every template must parse, use declared variables, and render with sample values under
    the render limits (`engine.render`), so that planning never meets a broken template."""
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


def check_files(paths: Iterable[Path]) -> list[FileCheck]:
    """Validate every file (folders expand to their YAML files); an unreadable file is a
    problem of that file, so one bad path does not hide the others' results."""
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
    return checks
