"""The gettext catalog: every msgid in the code has Chinese, and the compiled `.mo` is current."""

from __future__ import annotations

import gettext
import re

from babel.messages.catalog import Message

from sop_models.i18n import LOCALE_DIR, tr, translation, use_language
from tests.support.catalog import TRANSLATED, extract, po_path, read

PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sd]")


def _translated(message: Message | None) -> bool:
    if message is None:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def _ids(catalog: object) -> set[tuple[str | None, object]]:
    return {(m.context, m.id) for m in catalog if m.id}  # type: ignore[attr-defined]


def test_every_msgid_in_the_code_has_a_chinese_translation() -> None:
    in_code = extract()
    for language in TRANSLATED:
        catalog = read(language)
        missing = [
            m.id for m in in_code if m.id and not _translated(catalog.get(m.id, context=m.context))
        ]
        assert missing == [], f"{po_path(language)}: no translation for {missing}"
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert fuzzy == [], f"{po_path(language)}: fuzzy (unchecked) translations {fuzzy}"


def test_the_catalog_holds_no_msgid_the_code_no_longer_uses() -> None:
    in_code = _ids(extract())
    for language in TRANSLATED:
        stale = _ids(read(language)) - in_code
        assert stale == set(), f"run `python -m tests.support.catalog`: stale {stale}"


def test_translations_keep_every_placeholder_of_their_msgid() -> None:
    for language in TRANSLATED:
        for m in read(language):
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            expected = sorted(PLACEHOLDER.findall(ids[-1]))
            for string in strings:
                assert sorted(PLACEHOLDER.findall(string)) == expected, (m.id, string)


def test_the_compiled_catalog_says_what_the_po_says() -> None:
    for language in TRANSLATED:
        with (po_path(language).with_suffix(".mo")).open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for m in read(language):
            if not m.id:
                continue
            if isinstance(m.id, tuple):  # plural forms: Chinese has one
                got = compiled.ngettext(m.id[0], m.id[1], 2)
                assert got == m.string[0], f"{language} .mo is stale for {m.id!r}: compile the .po"
                continue
            got = compiled.pgettext(m.context, m.id) if m.context else compiled.gettext(m.id)
            assert got == m.string, f"{language} .mo is stale for {m.id!r}: compile the .po"
    assert (LOCALE_DIR / "zh" / "LC_MESSAGES" / "sopflow.mo").exists()


def test_chinese_is_the_default_and_english_is_the_msgid_itself() -> None:
    assert tr("Log in") == "登录"
    with use_language("en"):
        assert tr("Log in") == "Log in"
        assert tr("a sentence no catalog has") == "a sentence no catalog has"
    assert translation("fr").gettext("Log in") == "Log in"
