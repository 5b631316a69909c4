"""The words people read, in Chinese by default or English: stdlib gettext over Babel catalogs.

Source strings (msgids) are English, in the code; `locale/zh/LC_MESSAGES/sopflow.po` holds their
Chinese. English is then gettext's own fallback (a missing catalog or msgid shows the msgid),
so `language = "en"` needs no catalog and no second copy of each string. The call is `tr`,
not gettext's usual `_`, which this code base uses as a throwaway name (`a, _, b = ...`).

Which language: `use_language("en")` for a block, or `set_language` once where a workspace's
settings are read (services.workspace does it). Text is translated when it is built, so build
it inside the block. Mark a string for extraction without translating it yet with `N_`, and
translate it later with `tr`; `pybabel extract` (see babel.cfg) collects both.

The catalogs are kept in git as `.po` (edited) and `.mo` (compiled, read at run time, so the
domain needs nothing beyond the standard library); tests/unit/test_i18n_catalog.py checks that
every msgid in the code has a Chinese translation and that each `.mo` matches its `.po`.
Refresh them with `python -m sop_models.i18n_catalog` (Babel, a dev dependency).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT: Language = "zh"
DOMAIN = "sopflow"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[Language] = ContextVar("sopflow_language", default=DEFAULT)


@cache
def translation(language: str) -> gettext.NullTranslations:
    """The catalog of a language (English, or an unknown language: the msgids themselves)."""
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def language() -> Language:
    """The language text is built in now."""
    return _current.get()


def set_language(value: str) -> None:
    """Build text in `value` from now on (in this context); unknown values mean the default."""
    _current.set(value if value in LANGUAGES else DEFAULT)  # type: ignore[arg-type]


@contextmanager
def use_language(value: str) -> Iterator[None]:
    """Build text in `value` inside the block."""
    token = _current.set(value if value in LANGUAGES else DEFAULT)  # type: ignore[arg-type]
    try:
        yield
    finally:
        _current.reset(token)


def tr(message: str) -> str:
    """`message` (an English msgid) in the current language."""
    return translation(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural msgid for `n`, in the current language."""
    return translation(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` as meant in `context` (one English word, two Chinese ones), translated."""
    return translation(_current.get()).pgettext(context, message)


def NP_(context: str, message: str) -> tuple[str, str]:  # noqa: N802 (gettext convention)
    """Mark `message` in `context` for the catalog; translate it with `pgettext(*marked)`."""
    return context, message


def N_(message: str) -> str:  # noqa: N802 (gettext convention)
    """Mark `message` for the catalog; translate it where it is shown, with `tr`."""
    return message


def is_chinese() -> bool:
    """Whether text is built in Chinese (for punctuation the catalog cannot carry alone)."""
    return _current.get() == "zh"
