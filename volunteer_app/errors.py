"""DomainError: the one way services refuse. ``code`` is the API's stable error code."""
from __future__ import annotations

import functools

#: Error code -> HTTP status, as API.md fixes them.
STATUS_BY_CODE: dict[str, int] = {
    "unauthorized": 401,
    "bad_credentials": 401,
    "pending_approval": 403,
    "account_disabled": 403,
    "too_many_attempts": 429,
    "registrations_full": 429,
    "payload_too_large": 413,
    "method_not_allowed": 405,
    "username_taken": 409,
    "name_taken": 409,
    "invalid_code": 400,
    "expired_code": 410,
    "scan_too_old": 410,
    "event_closed": 409,
    "already_checked_in": 409,
    "cooldown": 409,
    "outside_geofence": 403,
    "already_signed_up": 409,
    "shift_started": 409,
    "not_team_member": 403,
    "insufficient_points": 409,
    "out_of_stock": 409,
    "monthly_limit": 409,
    "already_cancelled": 409,
    "already_reviewed": 409,
    "forbidden": 403,
    "not_found": 404,
    "validation_error": 422,
    "conflict": 409,
    "not_open": 409,
    "service_overlap": 409,
    "scan_too_old": 410,
    "callout_closed": 409,
    "voucher_used": 409,
    "service_unavailable": 503,
}


class DomainError(Exception):
    """A refusal by a service.

    ``message`` is a human sentence (already translated where the service can), ``details``
    carries facts the pages use to say what to do next (e.g. ``retry_at`` for a cooldown).
    """

    def __init__(self, code: str, message=None, *, status: int | None = None, **details):
        if message is None or (isinstance(message, str) and not message):
            message = code
        super().__init__(code)  # never render a lazy message here: there may be no request
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, 400)
        self.details = details
        #: The unit of work commits what was written before the refusal (a record of the refusal
        #: itself, e.g. a refused code counted toward the limit on guessing) instead of rolling back.
        self.keep_writes = False

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"DomainError({self.code!r}, {self.message!r})"


def keeps_writes(operation):
    """A service operation whose refusals keep what it wrote before refusing (an attempt
    counted toward a rate limit): both units of work commit it (``keep_writes``)."""

    @functools.wraps(operation)
    def wrapper(*args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except DomainError as error:
            error.keep_writes = True
            raise

    return wrapper


class FieldError(DomainError):
    """Input that fails a rule on one field (422 validation_error)."""

    def __init__(self, field: str, message: str):
        super().__init__("validation_error", message, errors=[{"field": field, "message": message}])
