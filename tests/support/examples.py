"""The example SOPs under `examples/`, as text or as documents, and edited copies of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sop_models import SopDocument, load_document, parse_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_text(name: str) -> str:
    """Text of an example SOP, e.g. `mombaby-refined`."""
    return (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")


def example(name: str) -> SopDocument:
    """An example SOP loaded as a document."""
    return load_document(EXAMPLES / f"{name}.yaml")


def modified(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """A valid SOP text with `change` applied to its data."""
    data = parse_document(text).model_dump(mode="json", exclude_none=True)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
