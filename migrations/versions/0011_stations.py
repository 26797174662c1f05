"""Stations of a county: a short name, a time zone, the version signed into join codes, a
unique name; the summary tables the county's view reads

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: every table refers to stations).
    op.add_column('stations', sa.Column('short_name', sa.String(length=32), nullable=False, server_default=''))
    op.add_column('stations', sa.Column('timezone', sa.String(length=64), nullable=True))
    op.add_column('stations', sa.Column('join_version', sa.Integer(), nullable=False, server_default='1'))
    op.create_index('uq_stations_name', 'stations', ['name'], unique=True)
    op.add_column('users', sa.Column('last_active_on', sa.Date(), nullable=True))
    op.create_index('ix_users_station_active', 'users', ['station_id', 'last_active_on'], unique=False)
    op.create_table(
        'station_days',
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('checkins', sa.Integer(), nullable=False),
        sa.Column('minutes_served', sa.Integer(), nullable=False),
        sa.Column('points_issued', sa.Integer(), nullable=False),
        sa.Column('points_redeemed', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id']),
        sa.PrimaryKeyConstraint('station_id', 'day', name='pk_station_days'),
    )
    # The sums of what happened before: ``volunteer-app rebuild-summaries`` (README).


def downgrade() -> None:
    op.drop_table('station_days')
    op.drop_index('ix_users_station_active', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_active_on')
    op.drop_index('uq_stations_name', table_name='stations')
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_column('join_version')
        batch_op.drop_column('timezone')
        batch_op.drop_column('short_name')
