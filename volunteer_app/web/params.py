"""Ids, whole numbers and days from a page's query string or form, read by the one parser every
face uses (``volunteer_app.parsing``).

An absent or empty value is ``None``; a value that is given and bad raises a ``FieldError``
naming the field: a view that shows field errors shows its message beside the input, anywhere
else the page says it with a 422.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import request

from ..errors import FieldError
from ..parsing import BadValue, parse_day, parse_id, parse_int, parse_time


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


def form_time(name: str) -> datetime | None:
    """A time with its offset (ISO 8601) from the form."""
    return _read(request.form, name, parse_time)
