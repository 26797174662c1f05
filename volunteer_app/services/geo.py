"""Where a scan happened: the great-circle distance and the geofence rule of a checkpoint."""
from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l

from ..errors import DomainError

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def check_geofence(checkpoint, latitude: float | None, longitude: float | None) -> None:
    """Refuse (``outside_geofence``) a scan that lies farther than the checkpoint's radius from
    it, or that has no position where the checkpoint requires one."""
    if latitude is None or longitude is None:
        if checkpoint.require_location:
            raise DomainError("outside_geofence", _l(
                "This checkpoint needs your position. Allow location access for this page and tap "
                "Check in again, or ask your team leader to check you in."), distance_m=None,
                radius_m=checkpoint.radius_m)
        return
    if checkpoint.latitude is None or checkpoint.longitude is None:
        return
    distance = distance_m(latitude, longitude, checkpoint.latitude, checkpoint.longitude)
    if distance > checkpoint.radius_m:
        shown = max(round(distance), checkpoint.radius_m + 1)
        raise DomainError("outside_geofence", _l(
            "You are %(distance)s m from this checkpoint (limit %(limit)s m). Walk to the poster and "
            "scan again.", distance=shown, limit=checkpoint.radius_m), distance_m=shown,
            radius_m=checkpoint.radius_m)
