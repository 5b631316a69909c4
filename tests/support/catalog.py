"""The gettext catalogs (sop_models/locale): extract the msgids from the code with Babel,
merge them into each language's `.po`, compile the `.mo` the code reads.

    .venv/bin/python -m tests.support.catalog          # after adding or changing a msgid

New msgids arrive untranslated (tests/unit/test_i18n_catalog.py then names them): write their
Chinese into the `.po` and run the command again to compile.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from sop_models.i18n import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "sop_models",
    "versions",
    "engine",
    "simulator",
    "report",
    "services",
    "flows",
    "sopflow",
)
KEYWORDS = {
    "tr": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "NP_": ((1, "c"), 2),
}
TRANSLATED = ("zh",)
"""Languages with a catalog; English is the msgids themselves."""


def extract_python(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str | tuple[str, ...], list[str]]]:
    """Babel extraction method over Python's own syntax tree, so marked strings inside
    f-strings count too (Babel's tokenizer sees a Python 3.11 f-string as one token)."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in keywords:
            continue
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if not args or not all(isinstance(a, str) for a in args[:2]):
            continue  # tr(variable): a string marked elsewhere with N_/NP_
        wanted = 1 if KEYWORDS.get(node.func.id) is None else 2
        messages = tuple(args[:wanted])
        yield node.lineno, node.func.id, messages[0] if wanted == 1 else messages, []


def extract() -> Catalog:
    """Every msgid marked in the code (`tr`, `N_`, `NP_`, `ngettext`, `pgettext`) and where."""
    template = Catalog(domain=DOMAIN, project="sopflow", charset="utf-8")
    for package in PACKAGES:
        found = extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "tests.support.catalog:extract_python")],
            keywords=KEYWORDS,
            comment_tags=("i18n:",),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            path = f"{package}/{filename}"
            template.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return template


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def update() -> None:
    """Merge the extracted msgids into each `.po` (keeping translations), compile each `.mo`."""
    template = extract()
    for language in TRANSLATED:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            catalog = read(language)
            catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
            catalog.obsolete.clear()
        else:
            catalog = Catalog(
                locale=language, domain=DOMAIN, project="sopflow", charset="utf-8", fuzzy=False
            )
            catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(
                handle,
                catalog,
                width=100,
                omit_header=False,
                sort_output=True,
                include_lineno=False,
            )
        path.with_suffix(".mo").write_bytes(compiled(read(language)))


if __name__ == "__main__":
    update()
