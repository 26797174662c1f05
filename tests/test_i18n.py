"""The message catalogs: every string in the code has a Chinese translation, the compiled
``.mo`` files are those of the ``.po`` files, placeholders survive translation, and pages come
out in Chinese by default and in English when chosen."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale, get_translations

from .conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "volunteer_app" / "translations"
#: The keywords of the extraction command (translations/README.md): Babel's defaults plus the lazy and plural names.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "ngettext": (1, 2), "_n": (1, 2),
            "lazy_ngettext": (1, 2)}
#: Where the source lives, relative to the repository (the first part of each babel.cfg pattern).
SOURCE_DIRS = ("volunteer_app", "templates")

#: ``%(name)s``, ``%s``, ``%d``, ``%.1f`` and ``{0}``/``{name}``; ``%%`` is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxX]|\{[A-Za-z0-9_]*\}")
CJK = re.compile(r"[\u3400-\u9fff]")


def _id(message) -> str:
    return message.id[0] if isinstance(message.id, (tuple, list)) else message.id


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    if isinstance(message.string, (tuple, list)):
        return tuple(message.string)
    return (message.string,)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


def _read_po(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def _read_mo(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        return read_mo(handle)


def _locales() -> list[str]:
    return sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def _chinese_locale() -> str:
    names = [name for name in _locales() if name.startswith("zh")]
    assert len(names) == 1, names
    return names[0]


@pytest.fixture(scope="module")
def source_messages() -> dict[str, tuple[str, ...]]:
    """Every message the source holds today, extracted the way the catalogs are built."""
    with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, tuple[str, ...]] = {}
    for top in SOURCE_DIRS:
        prefix = top + "/"
        local_map = [(pattern[len(prefix):], method) for pattern, method in method_map if pattern.startswith(prefix)]
        local_options = {pattern[len(prefix):]: opts for pattern, opts in options_map.items() if pattern.startswith(prefix)}
        assert local_map, f"babel.cfg names nothing under {top}/"
        for filename, _lineno, message, _comments, _context in extract_from_dir(
                ROOT / top, local_map, local_options, keywords=KEYWORDS):
            ids = tuple(message) if isinstance(message, (tuple, list)) else (message,)
            ids = tuple(part for part in ids if part)
            if ids:
                found.setdefault(ids[0], ids)
    return found


def test_the_source_is_extracted(source_messages):
    # The extraction itself works: strings from Python (lazy ones too), templates and plurals.
    assert "Sign in" in source_messages  # templates
    assert "Dashboard" in source_messages  # lazy_gettext in the navigation
    assert any(len(ids) == 2 for ids in source_messages.values())  # ngettext in templates
    assert len(source_messages) > 500


def test_every_message_in_the_source_has_a_chinese_translation(source_messages):
    catalog = _read_po(_chinese_locale())
    missing, fuzzy, empty = [], [], []
    for msgid, ids in sorted(source_messages.items()):
        message = catalog.get(msgid)
        if message is None:
            missing.append(msgid)
            continue
        if message.fuzzy:
            fuzzy.append(msgid)
        if not all(s.strip() for s in _strings(message)):
            empty.append(msgid)
        if len(ids) == 2:
            assert message.pluralizable and _ids(message)[1] == ids[1], msgid
    assert not missing, f"{len(missing)} messages not in the zh catalog (run the extraction): {missing[:20]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:20]}"
    assert not empty, f"untranslated: {empty[:20]}"


#: A translation call with a literal string, wherever it stands (an f-string hides it from extraction).
CALL = re.compile(r"""(?<![\w.])(?:_|_l|gettext|lazy_gettext|ngettext|_n)\(\s*(?:"([^"\\]+)"|'([^'\\]+)')""")


def test_no_translation_call_escapes_the_extraction(source_messages):
    # Babel reads an f-string as one token: a _() inside one is never extracted, and the
    # string stays English in every language (the calendar feed's "(waitlist)" did).
    escaped = []
    for path in sorted((ROOT / "volunteer_app").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in CALL.finditer(line):
                text = match.group(1) or match.group(2)
                # a literal continued on the next line is the start of its message
                if text not in source_messages and not any(m.startswith(text) for m in source_messages):
                    escaped.append(f"{path.relative_to(ROOT)}:{number}: {text}")
    assert not escaped, escaped


def test_chinese_catalog_is_complete_and_reads_as_chinese():
    catalog = _read_po(_chinese_locale())
    assert catalog.num_plurals == 1
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = _strings(message)
        assert len(strings) == 1, (message.id, strings)
        # English left in place would pass the other checks: a text with words must read as Chinese.
        words = PLACEHOLDER.sub("", _id(message))
        if re.search(r"[A-Za-z]{2,}", words):
            assert CJK.search(strings[0]), (message.id, strings[0])


@pytest.mark.parametrize("locale", _locales())
def test_mo_matches_po(locale):
    po = _read_po(locale)
    mo = _read_mo(locale)
    expected = {}
    for message in po:
        if not message.id or message.fuzzy:
            continue
        if message.pluralizable:  # an empty plural form is compiled as the English one
            ids = _ids(message)
            expected[ids] = tuple(s or ids[min(n, 1)] for n, s in enumerate(_strings(message)))
        elif message.string:
            expected[_ids(message)] = _strings(message)
    compiled = {_ids(m): _strings(m) for m in mo if m.id}
    assert compiled == expected, "the .mo is stale: run pybabel compile"


@pytest.mark.parametrize("locale", _locales())
def test_placeholders_are_preserved(locale):
    catalog = _read_po(locale)
    assert not [error for _message, errors in catalog.check() for error in errors]
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = _ids(message)
        wanted = _placeholders(ids[-1])
        assert all(_placeholders(part) <= wanted | _placeholders(ids[0]) for part in ids)
        for string in _strings(message):
            if string and _placeholders(string) != wanted:
                wrong.append((message.id, string))
    assert not wrong, wrong


def test_the_app_finds_the_chinese_catalog(app, source_messages):
    # The lookup the app does at run time (Babel resolves zh_CN to zh_Hans_CN): every message comes
    # back translated, so a catalog in a directory the app never reads fails here.
    with app.test_request_context("/"), force_locale("zh_CN"):
        translations = get_translations()
        untranslated = [msgid for msgid, ids in source_messages.items()
                        if (translations.ngettext(ids[0], ids[1], 1) if len(ids) == 2 else translations.gettext(msgid))
                        == msgid and re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", msgid))]
    assert not untranslated, untranslated[:20]


def test_pages_are_chinese_by_default_and_english_when_chosen(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "<h1>登录</h1>" in page and "Sign in" not in page
    client.post("/language", data={"csrf_token": csrf_token(client), "lang": "en", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<h1>Sign in</h1>" in page and "登录" not in page


def test_chinese_labels_take_a_full_width_colon(app, session):
    from . import factories
    username = factories.user(session, display_name="王阿姨").username
    session.commit()
    client = app.test_client()
    client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                "password": factories.PASSWORD})
    page = client.get("/").get_data(as_text=True)
    assert "等级：" in page and "等级:" not in page
    client.post("/language", data={"csrf_token": csrf_token(client, "/profile"), "lang": "en", "next": "/"})
    assert "Level: " in client.get("/").get_data(as_text=True)
