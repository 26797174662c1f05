"""CSV for Excel, the one way every export writes it: a BOM first (so Excel shows the Chinese),
CRLF lines, times in station time, text that cannot start a spreadsheet formula, streamed in
chunks of about ``CHUNK_CHARS`` characters. Headers and coded values (a status, a kind) are in
the station's language: the header is translated text, and the columns named in ``coded`` are
turned into words through :data:`WORDS`."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Iterable, Iterator

from flask_babel import lazy_gettext as _l

from ..timeutil import local

CHUNK_CHARS = 16_000
BOM = "\ufeff"

#: The words for the codes an export shows: redemption statuses, check-in and ledger kinds.
WORDS = {
    "fulfilled": _l("handed out"), "cancelled": _l("cancelled"), "reserved": _l("reserved"),
    "lapsed": _l("reservation lapsed"),
    "checkpoint": _l("checkpoint"), "event": _l("event"),
    "checkin": _l("check-in"), "shift": _l("shift"), "award": _l("award"), "tip": _l("tip"),
    "redemption": _l("redeemed"), "refund": _l("refund"), "adjustment": _l("adjustment"),
    "expiry": _l("points lapsed"), "service": _l("service"),
}


def csv_stream(header: Iterable, rows: Iterable[Iterable], *, coded: Iterable[int] = ()) -> Iterator[str]:
    """A BOM, the header, then the rows (None is an empty cell), in chunks; the values of the
    columns at the indexes ``coded`` are shown as words."""
    coded = frozenset(coded)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([str(name) for name in header])
    for row in rows:
        writer.writerow(["" if value is None else cell(word(value) if index in coded else value)
                         for index, value in enumerate(row)])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def word(code) -> str:
    """The station's word for a code (the code itself when it has none)."""
    return str(WORDS.get(code, code))


def cell(value) -> str:
    if isinstance(value, datetime):
        return local(value).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    # Spreadsheet formula injection: a cell a user typed must not start a formula in Excel.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
