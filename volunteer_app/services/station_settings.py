"""A station's own settings: the values of ``config.STATION_SETTINGS`` a station sets for itself.

They live as JSON text on the station's row (``Station.settings_json``), already parsed and
normalised, so that every request, which reads that row anyway, hands them to
``settings.use_station`` without a query or a parse of its own (:func:`values_of`). Each value is
read here by one parser per setting; a bad one refuses the whole change (422, nothing saved).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..config import STATION_SETTINGS, parse_points_expire
from ..errors import DomainError
from ..models import TIP_CATEGORIES, Station, User
from ..parsing import BadValue, parse_int
from ..settings import deployment
from . import access, audit, stations

#: Text longer than this is no setting's value.
MAX_TEXT = 500
MAX_LEVELS = 20
MAX_LEVEL_POINTS = 10**9
#: Points a tip may earn at most (as ``tips.MAX_POINTS``).
MAX_TIP_POINTS = 1000


@dataclass(frozen=True)
class Spec:
    name: str  # the setting (``NIGHT_FACTOR``)
    group: str  # the page's group
    label: Any
    hint: Any
    parse: Callable[[Any], Any]  # a value as sent (JSON or form text) -> the stored value, or BadValue

    @property
    def field(self) -> str:
        """The name in the API and the page's form (``night_factor``)."""
        return self.name.lower()


def _text(value) -> str:
    if not isinstance(value, str):
        raise BadValue(_l("Enter text."))
    if len(value) > MAX_TEXT:
        raise BadValue(_l("At most %(count)s characters.", count=MAX_TEXT))
    return value.strip()


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value) -> int:
        if isinstance(value, bool):
            raise BadValue(_l("Enter a whole number."))
        if isinstance(value, int):
            value = str(value)
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = str(int(value))
        elif not isinstance(value, str) or len(value) > 40:
            raise BadValue(_l("Enter a whole number."))
        return parse_int(value, low, high)
    return parse


_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?", re.ASCII)


def _factor(value) -> float:
    """The night factor: a number from 1 to 5, at most three decimals."""
    if isinstance(value, bool):
        raise BadValue(_l("Enter a number such as 1.5."))
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise BadValue(_l("Enter a number such as 1.5."))
        value = repr(float(value)) if abs(value) < 1000 else "1000"
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value.strip()):
        raise BadValue(_l("Enter a number such as 1.5."))
    number = float(value.strip())
    if not 1 <= number <= 5:
        raise BadValue(_l("Enter a number from %(low)s to %(high)s.", low=1, high=5))
    return number


def _switch(value) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    raise BadValue(_l("Enter yes or no."))


def _pairs(value, what) -> list[tuple[str, str]]:
    text = _text(value)
    parts = [part.strip() for part in re.split(r"[,，]", text) if part.strip()]
    if not parts:
        raise BadValue(_l("Enter at least one %(what)s.", what=what))
    pairs = []
    for part in parts:
        name, sep, number = part.replace("：", ":").rpartition(":")
        if not sep or not name.strip():
            raise BadValue(_l("Write each as name:points, separated by commas."))
        pairs.append((name.strip(), number.strip()))
    return pairs


def _levels(value) -> str:
    """Levels as ``name:points,...``: names unique, thresholds unique, the first at 0."""
    levels = []
    for name, number in _pairs(value, _l("level")):
        if len(name) > 20:
            raise BadValue(_l("A level's name has at most 20 characters."))
        levels.append((name, parse_int(number, 0, MAX_LEVEL_POINTS)))
    levels.sort(key=lambda level: level[1])
    if len(levels) > MAX_LEVELS:
        raise BadValue(_l("At most %(count)s levels.", count=MAX_LEVELS))
    if len({name for name, _ in levels}) != len(levels) or len({points for _, points in levels}) != len(levels):
        raise BadValue(_l("Each level needs a name and a number of points of its own."))
    if levels[0][1] != 0:
        raise BadValue(_l("The first level starts at 0 points."))
    return ",".join(f"{name}:{points}" for name, points in levels)


def _tip_points(value) -> str:
    """Points per tip category, ``category:points,...`` (a category left out earns 0)."""
    points = {}
    for name, number in _pairs(value, _l("category")):
        if name not in TIP_CATEGORIES:
            raise BadValue(_l("Unknown category %(name)s: use %(names)s.", name=name[:30], names=", ".join(TIP_CATEGORIES)))
        if name in points:
            raise BadValue(_l("Each category once."))
        points[name] = parse_int(number, 0, MAX_TIP_POINTS)
    return ",".join(f"{name}:{points[name]}" for name in TIP_CATEGORIES if name in points)


def _points_expire(value) -> str:
    try:
        rule, number = parse_points_expire(_text(value))
    except ValueError:
        raise BadValue(_l("Use never, year_end:N (N from 0 to 100) or months:N (N from 1 to 100).")) from None
    return "never" if rule == "never" else f"{rule}:{number}"


GROUPS = {
    "levels": _l("Levels"),
    "tips": _l("Tip points"),
    "shifts": _l("Shifts and no-shows"),
    "service": _l("Service time"),
    "expiry": _l("Points expiry"),
    "store": _l("Points store"),
}

SPECS: tuple[Spec, ...] = (
    Spec("LEVEL_THRESHOLDS", "levels", _l("Levels and the lifetime points they need"),
         _l("name:points, separated by commas, the first at 0"), _levels),
    Spec("TIP_POINTS", "tips", _l("Default points of a valid tip, per category"),
         _l("category:points (dispute, fraud, hazard, ecology, other)"), _tip_points),
    Spec("SHIFT_SIGNUP_WINDOW_DAYS", "shifts", _l("Sign up for shifts at most this many days ahead"),
         _l("1 to 366 days"), _whole(1, 366)),
    Spec("NO_SHOW_LIMIT", "shifts", _l("No-shows before sign-ups are blocked"), _l("1 to 100"), _whole(1, 100)),
    Spec("NO_SHOW_WINDOW_DAYS", "shifts", _l("No-shows count within this many days"), _l("1 to 3650 days"),
         _whole(1, 3650)),
    Spec("ROUTE_IN_ORDER", "shifts", _l("A route counts only when scanned in order"), _l("yes or no"), _switch),
    Spec("NIGHT_FACTOR", "service", _l("Night factor (22:00 to 06:00)"), _l("a number from 1 to 5"), _factor),
    Spec("MAKEUP_MAX_DAYS", "service", _l("Make-up requests at most this many days back"), _l("1 to 366 days"),
         _whole(1, 366)),
    Spec("OUTING_GAP_MINUTES", "service", _l("Patrol scans within this many minutes form one outing"),
         _l("1 to 1440 minutes"), _whole(1, 1440)),
    Spec("OUTING_TAIL_MINUTES", "service", _l("Minutes an outing counts after its last scan"), _l("0 to 1440 minutes"),
         _whole(0, 1440)),
    Spec("POINTS_EXPIRE", "expiry", _l("When earned points lapse"),
         _l("never, year_end:N or months:N (points already earned keep their day)"), _points_expire),
    Spec("VOUCHER_DAYS", "store", _l("Days a sponsor's voucher stays good"), _l("1 to 3650 days"), _whole(1, 3650)),
)
BY_FIELD = {spec.field: spec for spec in SPECS}
assert {spec.name for spec in SPECS} == set(STATION_SETTINGS)


def values_of(station: Station) -> dict:
    """The settings the station has set itself: setting name -> value (a fresh dict)."""
    return dict(stations.own_values(station.settings_json))


def _admin_station(session: Session, actor: User, station_id: int) -> Station:
    station = stations.get_station(session, actor, station_id)  # another station: not_found
    if not actor.is_admin:
        access.forbid()
    return station


def shown(value) -> str:
    """A value as the page's form shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def effective(session: Session, actor: User, station_id: int) -> list[dict]:
    """Every setting a station may set, for its admins: ``field, name, group, label, hint,
    value`` (in force in the station), ``default`` (the deployment's) and ``station_set``."""
    own = values_of(_admin_station(session, actor, station_id))
    rows = []
    for spec in SPECS:
        default = deployment(spec.name)
        rows.append({"field": spec.field, "name": spec.name, "group": spec.group, "label": spec.label,
                     "hint": spec.hint, "value": own.get(spec.name, default), "default": default,
                     "station_set": spec.name in own})
    return rows


def update(session: Session, actor: User, station_id: int, changes: dict) -> list[dict]:
    """Set (or, with None, clear back to the deployment's value) some of a station's settings,
    by field name. Every value is checked first: any bad one (or an unknown name) refuses the
    whole change, naming each bad field. Audited with the values before and after."""
    _admin_station(session, actor, station_id)
    # read again under a row lock: two changes at once each keep the other's values
    station = session.exec(select(Station).where(Station.id == station_id).with_for_update()
                           .execution_options(populate_existing=True)).one()
    own = values_of(station)
    errors, parsed = [], {}
    for field, value in changes.items():
        spec = BY_FIELD.get(field) if isinstance(field, str) else None
        if spec is None:
            errors.append({"field": str(field)[:64], "message": str(_l("Not a setting a station may set."))})
            continue
        if value is None:
            parsed[spec.name] = None
            continue
        try:
            parsed[spec.name] = spec.parse(value)
        except BadValue as error:
            errors.append({"field": field, "message": str(error.message)})
    if errors:
        raise DomainError("validation_error", errors[0]["message"], errors=errors)
    new = dict(own)
    for name, value in parsed.items():
        if value is None:
            new.pop(name, None)
        else:
            new[name] = value
    if new != own:
        station.settings_json = json.dumps({name: new[name] for name in STATION_SETTINGS if name in new},
                                           ensure_ascii=False)
        session.add(station)
        session.flush()
        changed = sorted(name for name in set(own) | set(new) if own.get(name) != new.get(name))
        audit.record(session, actor, "station.settings", "station", station.id, station_id=station.id,
                     before={name: own.get(name) for name in changed}, after={name: new.get(name) for name in changed})
    return effective(session, actor, station_id)
