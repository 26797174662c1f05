"""Shared pieces of the API's schemas."""
from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ..models.base import MAX_ID

#: Text fields: surrounding white space ignored, length bounded.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ClientRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
#: A time with an offset; one without is refused (422).
Timestamp = AwareDatetime


class ApiInput(BaseModel):
    """A request body or query: unknown fields are refused, types are strict."""

    model_config = ConfigDict(extra="forbid")


class ApiOutput(BaseModel):
    model_config = ConfigDict(extra="allow")


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
