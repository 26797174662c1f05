"""How usernames are compared: Unicode NFKC normalisation and case folding (``ＡＤＭＩＮ`` is
``admin``), and a look-alike skeleton (``admın1`` with a dotless ı looks like ``admin1``) after
Unicode's confusables (UTS #39): combining marks dropped, characters that look like an ASCII
letter or digit replaced by it, ``0`` read as ``o`` and ``1`` as ``l``. Also: whether a text has
any visible character at all."""
from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Letters (Unicode category Lo/So) that show as nothing: Hangul fillers, the blank Braille cell.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_ASCII_LOOK_ALIKES = str.maketrans("01", "ol")


def normalise(username: str) -> str:
    """NFKC, case folded (and NFKC again: folding can undo it), without surrounding spaces."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold()).strip()


@functools.cache
def _confusables() -> dict[str, str]:
    return json.loads((DATA_DIR / "confusables.json").read_text(encoding="utf-8"))


def skeleton(username: str) -> str:
    """What a (normalised) username looks like: two usernames with one skeleton are look-alikes."""
    table = _confusables()
    decomposed = unicodedata.normalize("NFKD", normalise(username))
    return "".join(table.get(char, char) for char in decomposed
                   if not unicodedata.combining(char)).translate(_ASCII_LOOK_ALIKES)[:64]


def has_visible(text: str) -> bool:
    """True when some character shows: a letter, digit, punctuation mark or symbol (not a space,
    control, format character such as a zero-width space, lone combining mark or blank letter)."""
    return any(unicodedata.category(char)[0] in "LNPS" and char not in _BLANK for char in text)
