"""The one reading of ids, whole numbers, days, times and free text from input, for every face.

The API's schemas (``schemas/common.py``), the pages (``web/params.py``) and the services that
take text build on these functions, so bad input is refused the same way everywhere. Only ASCII
digits count (``"²".isdigit()`` and ``"٣".isdigit()`` are true, yet neither is a number here),
ids lie within the id column's range, and a day or a time lies within ``YEARS``.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from .errors import FieldError
from .models.base import MAX_ID

#: Times before 2000 or after 2100 are refused wherever a time is taken (first and last year).
YEARS = (2000, 2100)

#: The largest whole number read from text that is not an id.
MAX_NUMBER = 2**62

_INTEGER = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                   r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?", re.ASCII)


class BadValue(ValueError):
    """Text that is not the value asked for; ``message`` says what to enter (translatable)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def is_id(value) -> bool:
    """Whether ``value`` is an int that can name a row (1 to ``MAX_ID``)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def parse_int(text: str, low: int, high: int) -> int:
    """A whole number written in ASCII digits (an optional ``-``), from ``low`` to ``high``."""
    text = text.strip() if isinstance(text, str) else ""
    if not _INTEGER.fullmatch(text):
        raise BadValue(_l("Enter a whole number."))
    value = int(text)
    if not low <= value <= high:
        raise BadValue(_l("Enter a whole number from %(low)s to %(high)s.", low=low, high=high))
    return value


def parse_number(text: str) -> int:
    """Any whole number a form may carry (within 64 bits, with room); the service bounds it."""
    return parse_int(text, -MAX_NUMBER, MAX_NUMBER)


def parse_id(text: str) -> int:
    """An id: ASCII digits naming a possible row (1 to ``MAX_ID``)."""
    try:
        return parse_int(text, 1, MAX_ID)
    except BadValue:
        raise BadValue(_l("This is not a valid id.")) from None


def check_year(value: date) -> date:
    """``value`` (a day or a time, as given) when its year lies within ``YEARS``."""
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise BadValue(_l("Enter a date between the years %(first)s and %(last)s.", first=YEARS[0], last=YEARS[1]))
    return value


def parse_day(text: str) -> date:
    """A calendar day written ``2026-11-23``, within ``YEARS``."""
    text = text.strip() if isinstance(text, str) else ""
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise BadValue(_l("Enter a date like 2026-11-23.")) from None
    return check_year(day)


def parse_time(text: str) -> datetime:
    """A time in ISO 8601 with its offset (``2026-11-23T08:00:00+08:00`` or ``...Z``), within
    ``YEARS``; a time without an offset is refused."""
    text = text.strip() if isinstance(text, str) else ""
    try:
        if not _TIME.fullmatch(text):
            raise ValueError(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(_l("Enter a time like 2026-11-23T08:00:00+08:00.")) from None
    if value.tzinfo is None:
        raise BadValue(_l("Give the time with its offset, like +08:00."))
    return check_year(value)


def clean_text(value, field: str, limit: int, *, required: bool = False) -> str:
    """Free text with the spaces around it taken off: a ``FieldError`` on ``field`` when it is
    not text, missing where ``required``, or longer than ``limit`` characters."""
    if value is not None and not isinstance(value, str):
        raise FieldError(field, _l("Please enter text here."))
    value = (value or "").strip()
    if required and not value:
        raise FieldError(field, _l("Please fill this in."))
    if len(value) > limit:
        raise FieldError(field, _l("This text is too long."))
    return value

