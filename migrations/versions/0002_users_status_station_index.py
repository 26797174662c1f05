"""users: an index on (status, station_id), for the boards to find a station's disabled accounts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 17:40:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_status_station', ['status', 'station_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_status_station')
