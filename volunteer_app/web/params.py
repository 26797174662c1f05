"""Ids, whole numbers and days from a page's query string or form, read by the one parser every
face uses (``volunteer_app.parsing``).

An absent or empty value is ``None``; a value that is given and bad raises a ``FieldError``
naming the field: a view that shows field errors shows its message beside the input, anywhere
else the page says it with a 422.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import request
from flask_babel import lazy_gettext as _l

from ..errors import FieldError
from ..parsing import BadValue, parse_day, parse_id, parse_int, parse_time
from ..timeutil import station_tz


def _read(source, name: str, parse):
    raw = source.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return parse(raw)
    except BadValue as error:
        raise FieldError(name, error.message) from None


def to_id(raw: str | None) -> int | None:
    """An id taken out of a larger value (``checkpoint:5``), or ``None`` when it is none."""
    try:
        return parse_id(raw or "")
    except BadValue:
        return None


def arg_id(name: str) -> int | None:
    return _read(request.args, name, parse_id)


def form_id(name: str) -> int | None:
    return _read(request.form, name, parse_id)


def form_ids(name: str, *, most: int = 20) -> list[int]:
    """The ids of a form's checked boxes (at most ``most``); anything not an id of up to ten
    digits is refused on ``name``."""
    out = []
    for raw in request.form.getlist(name)[:most]:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
            raise FieldError(name, _l("Choose people from the list."))
        out.append(int(raw))
    return out


def value_id(name: str) -> int | None:
    """From the form or, failing that, the query string."""
    return _read(request.values, name, parse_id)


def arg_page(last: int) -> int:
    """The page of a paged list asked for (``?page=``); the first for anything else."""
    try:
        return parse_int(request.args.get("page") or "1", 1, last)
    except BadValue:
        return 1


def arg_day(name: str) -> date | None:
    return _read(request.args, name, parse_day)


def form_day(name: str) -> date | None:
    return _read(request.form, name, parse_day)


def form_span(day_field: str, start_field: str, end_field: str) -> tuple[datetime | None, datetime | None]:
    """A stretch of time from a form's day and two clock times (station time); an end earlier
    than the start is on the next day (a night duty). Missing values are ``None``; bad ones a
    ``FieldError`` naming the field."""
    day = _read(request.form, day_field, parse_day)
    if day is None:
        return None, None
    clocks = []
    for name in (start_field, end_field):
        raw = (request.form.get(name) or "").strip()[:8]
        if not raw:
            clocks.append(None)
            continue
        try:
            clocks.append(time.fromisoformat(raw[:5]))
        except ValueError:
            raise FieldError(name, _l("Enter a time like 08:30.")) from None
    start = datetime.combine(day, clocks[0], tzinfo=station_tz()) if clocks[0] else None
    end = datetime.combine(day, clocks[1], tzinfo=station_tz()) if clocks[1] else None
    if start and end and end <= start:
        end += timedelta(days=1)
    return start, end


def form_time(name: str) -> datetime | None:
    """A time with its offset (ISO 8601) from the form."""
    return _read(request.form, name, parse_time)
