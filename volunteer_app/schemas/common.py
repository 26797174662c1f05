"""Shared pieces of the API's schemas."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import (AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints,
                      ValidationInfo)
from pydantic_core import PydanticCustomError

from ..models.base import GRID_LENGTH, MAX_ID
from ..parsing import BadValue, check_year, parse_day, parse_id, parse_time
from ..timeutil import isoformat


def _refusing(parse):
    """A pydantic validator from a ``parsing`` function: its message, without a prefix."""

    def validate(value, info: ValidationInfo):
        try:
            return parse(value, info)
        except BadValue as error:
            raise PydanticCustomError("value_error", str(error.message)) from None

    return validate


@_refusing
def _id(value, info: ValidationInfo):
    """A query string's id arrives as text: ASCII digits only (``"²"`` and ``"٣"`` are no ids).
    A JSON body's id must be a number (strict)."""
    return parse_id(value) if isinstance(value, str) and info.mode == "python" else value


@_refusing
def _time(value, info: ValidationInfo):
    """Text through the one time parser; a number is no time (``0.5`` is not a timestamp)."""
    if isinstance(value, datetime):
        return check_year(value)
    return parse_time(value if isinstance(value, str) else "")


@_refusing
def _day(value, info: ValidationInfo):
    if isinstance(value, date) and not isinstance(value, datetime):
        return check_year(value)
    return parse_day(value if isinstance(value, str) else "")


#: Text fields: surrounding white space ignored, length bounded.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ClientRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: A grid (网格), village or company: free text, trimmed, optional (empty: none).
GridName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=GRID_LENGTH)]
Id = Annotated[int, BeforeValidator(_id), Field(ge=1, le=MAX_ID)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
#: A time with an offset, within the years the app takes (``parsing.YEARS``); one without is refused (422).
Timestamp = Annotated[AwareDatetime, BeforeValidator(_time)]
#: A calendar day (``2026-11-23``) within the same years.
Day = Annotated[date, BeforeValidator(_day)]


class ApiInput(BaseModel):
    """A request body or query: unknown fields are refused, types are strict."""

    model_config = ConfigDict(extra="forbid")


#: A stored time as the API sends it: ISO 8601 with the station's offset (``timeutil.isoformat``).
StationTime = Annotated[datetime, PlainSerializer(isoformat, return_type=str)]


class ApiOutput(BaseModel):
    """What the API sends: read from what a service returned, a dict or an object's attributes
    (:class:`Attrs`); a field the input leaves out is not sent."""

    model_config = ConfigDict(extra="allow", from_attributes=True)


class Attrs:
    """``obj``'s attributes for an output schema to read, with ``extra`` ones added (or put in
    place of the object's) and ``hidden`` ones left out (the field is then not sent)."""

    __slots__ = ("_obj", "_extra", "_hidden")

    def __init__(self, obj, *, hidden: tuple[str, ...] = (), **extra):
        self._obj, self._extra, self._hidden = obj, extra, hidden

    def __getattr__(self, name: str):
        if name in self._hidden:
            raise AttributeError(name)
        if name in self._extra:
            return self._extra[name]
        return getattr(self._obj, name)


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] | None = None


class ListQuery(ApiInput):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
