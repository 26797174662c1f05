"""The county's view: a station's day in sums, kept by the writes themselves."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Date, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel


class StationDay(SQLModel, table=True):
    """One station's station-local day: check-ins (sign-ins), points earned, points spent at
    the store (less refunds) and points lapsed (its minutes of service are in
    ``service_station_days``). ``ledger.tally`` adds to it in the transaction of the change
    itself, so the county's summary and the station's dashboard read a few rows a day instead
    of the ledger."""

    __tablename__ = "station_days"
    __table_args__ = (PrimaryKeyConstraint("station_id", "day", name="pk_station_days"),)
    station_id: int = Field(foreign_key="stations.id")
    day: date = Field(sa_column=Column(Date, nullable=False))
    checkins: int = Field(default=0)
    points_issued: int = Field(default=0)
    points_redeemed: int = Field(default=0)
    points_lapsed: int = Field(default=0)
