"""service_day_totals and service_station_days: confirmed minutes and records per person (and per
station), kind and station-local day, which the hours reports sum instead of the records

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 19:10:00
"""
from collections import defaultdict
from datetime import datetime

from alembic import op
import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

from volunteer_app.timeutil import as_utc, station_tz


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_day_totals',
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('kind', AutoString(length=32), nullable=False),
                    sa.Column('station_id', sa.Integer(), nullable=False),
                    sa.Column('minutes', sa.Integer(), nullable=False),
                    sa.Column('records', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['station_id'], ['stations.id'],
                                            name='fk_service_day_totals_station_id_stations'),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_service_day_totals_user_id_users'),
                    sa.PrimaryKeyConstraint('user_id', 'day', 'kind', name='pk_service_day_totals'))
    op.create_table('service_station_days',
                    sa.Column('station_id', sa.Integer(), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('kind', AutoString(length=32), nullable=False),
                    sa.Column('minutes', sa.Integer(), nullable=False),
                    sa.Column('records', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['station_id'], ['stations.id'],
                                            name='fk_service_station_days_station_id_stations'),
                    sa.PrimaryKeyConstraint('station_id', 'day', 'kind', name='pk_service_station_days'))

    # The confirmed records so far, summed by the station-local day each started on.
    bind = op.get_bind()
    tz = station_tz()
    people, stations = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    rows = bind.execute(sa.text("SELECT user_id, station_id, kind, started_at, minutes FROM service_records "
                                "WHERE status = 'confirmed'"))
    for user_id, station_id, kind, started_at, minutes in rows:
        if isinstance(started_at, str):  # SQLite's text
            started_at = datetime.fromisoformat(started_at)
        day = as_utc(started_at).astimezone(tz).date()
        for totals, key in ((people, (user_id, day, kind, station_id)), (stations, (station_id, day, kind))):
            totals[key][0] += minutes
            totals[key][1] += 1
    if people:
        op.bulk_insert(sa.table('service_day_totals', sa.column('user_id'), sa.column('day', sa.Date()),
                                sa.column('kind'), sa.column('station_id'), sa.column('minutes'),
                                sa.column('records')),
                       [{"user_id": u, "day": d, "kind": k, "station_id": s, "minutes": m, "records": r}
                        for (u, d, k, s), (m, r) in people.items()])
        op.bulk_insert(sa.table('service_station_days', sa.column('station_id'), sa.column('day', sa.Date()),
                                sa.column('kind'), sa.column('minutes'), sa.column('records')),
                       [{"station_id": s, "day": d, "kind": k, "minutes": m, "records": r}
                        for (s, d, k), (m, r) in stations.items()])


def downgrade() -> None:
    op.drop_table('service_station_days')
    op.drop_table('service_day_totals')
