"""Full document validation: the schema's checks plus Jinja template checks from the engine."""

from __future__ import annotations

from pathlib import Path

from engine.render import check_templates
from sop_models import SopDocument, parse_document
from sop_models.errors import DataFileError, DocumentInvalid


def validate_text(text: str, source: str) -> SopDocument:
    """Parse and validate a document; every template must parse and use declared variables."""
    doc = parse_document(text, source)
    problems = check_templates(doc, source=source)
    if problems:
        raise DocumentInvalid(problems)
    return doc


def read_document_text(path: Path) -> str:
    """A document file's text, or a one-line error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot read: {err.__class__.__name__}") from None


def validate_file(path: Path) -> SopDocument:
    """Validate one document file."""
    return validate_text(read_document_text(path), str(path))
