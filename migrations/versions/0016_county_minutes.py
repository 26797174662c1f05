"""station_days: the minutes of service leave (the county reads service_station_days, which
move with a record's start); the points lapsed arrive (the station's dashboard reads its points
from here instead of the ledger)

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-06 22:10:00
"""
from collections import defaultdict
from datetime import datetime

from alembic import op
import sqlalchemy as sa

from volunteer_app.timeutil import as_utc, station_tz

revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('station_days') as batch:
        batch.drop_column('minutes_served')
        batch.add_column(sa.Column('points_lapsed', sa.Integer(), nullable=False, server_default='0'))
    # The lapses so far (one entry per person and lapse day: few rows), by station-local day.
    bind = op.get_bind()
    tz = station_tz()
    lapsed = defaultdict(int)
    for station_id, created_at, amount in bind.execute(sa.text(
            "SELECT u.station_id, e.created_at, e.amount FROM ledger_entries e JOIN users u ON u.id = e.user_id "
            "WHERE e.kind = 'expiry'")):
        if isinstance(created_at, str):  # SQLite's text
            created_at = datetime.fromisoformat(created_at)
        lapsed[(station_id, as_utc(created_at).astimezone(tz).date())] -= amount
    for (station_id, day), points in sorted(lapsed.items()):
        updated = bind.execute(sa.text("UPDATE station_days SET points_lapsed = :points "
                                       "WHERE station_id = :station AND day = :day"),
                               {"points": points, "station": station_id, "day": day})
        if updated.rowcount == 0:
            bind.execute(sa.text("INSERT INTO station_days (station_id, day, checkins, points_issued, "
                                 "points_redeemed, points_lapsed) VALUES (:station, :day, 0, 0, 0, :points)"),
                         {"points": points, "station": station_id, "day": day})


def downgrade() -> None:
    with op.batch_alter_table('station_days') as batch:
        batch.drop_column('points_lapsed')
        batch.add_column(sa.Column('minutes_served', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE station_days SET minutes_served = COALESCE((SELECT SUM(s.minutes) FROM service_station_days s "
               "WHERE s.station_id = station_days.station_id AND s.day = station_days.day), 0)")
