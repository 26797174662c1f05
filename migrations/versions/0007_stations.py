"""Stations of a county: a short name, a time zone, the version signed into join codes, a
unique name; the summary tables the county's view reads

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: every table refers to stations).
    op.add_column('stations', sa.Column('short_name', sa.String(length=32), nullable=False, server_default=''))
    op.add_column('stations', sa.Column('timezone', sa.String(length=64), nullable=True))
    op.add_column('stations', sa.Column('join_version', sa.Integer(), nullable=False, server_default='1'))
    op.create_index('uq_stations_name', 'stations', ['name'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_stations_name', table_name='stations')
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_column('join_version')
        batch_op.drop_column('timezone')
        batch_op.drop_column('short_name')
