"""CSV for Excel, the one way every export writes it: a BOM first (so Excel shows the Chinese),
CRLF lines, times in station time, text that cannot start a spreadsheet formula, streamed in
chunks of about ``CHUNK_CHARS`` characters."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Iterable, Iterator

from ..timeutil import local

CHUNK_CHARS = 16_000
BOM = "\ufeff"


def csv_stream(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """A BOM, the header, then the rows (None is an empty cell), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([str(name) for name in header])
    for row in rows:
        writer.writerow(["" if value is None else cell(value) for value in row])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


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
