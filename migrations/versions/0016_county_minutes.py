"""the county's minutes of service come from service_station_days: station_days loses its copy

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-06 22:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('station_days') as batch:
        batch.drop_column('minutes_served')


def downgrade() -> None:
    with op.batch_alter_table('station_days') as batch:
        batch.add_column(sa.Column('minutes_served', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE station_days SET minutes_served = COALESCE((SELECT SUM(s.minutes) FROM service_station_days s "
               "WHERE s.station_id = station_days.station_id AND s.day = station_days.day), 0)")
