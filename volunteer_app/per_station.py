"""Work done station by station outside a request (commands, the delivery worker): each in an
app context of its own that uses the station's settings (its time zone, its points expiry, ...)."""
from __future__ import annotations

from typing import Iterator

from sqlmodel import select

from . import db, settings
from .models import Station
from .services import stations


def station_settings(app) -> list[tuple[int, dict]]:
    """Every station's id and own settings (``settings.use_station``), in id order."""
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        return [(station.id, stations.own_settings(station))
                for station in session.exec(select(Station).order_by(Station.id))]


def each_station(app, chosen: list[tuple[int, dict]] | None = None) -> Iterator[int]:
    """For each station (or those ``chosen`` from :func:`station_settings`): its id, inside an
    app context that uses its settings for as long as the caller's loop body runs."""
    for station_id, values in (station_settings(app) if chosen is None else chosen):
        with app.app_context():
            settings.use_station(values)
            yield station_id
