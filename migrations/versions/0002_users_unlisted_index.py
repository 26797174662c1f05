"""users: a partial index of the accounts that are not active, for the boards to leave them out

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    where = sa.text("status != 'active'")
    op.create_index('ix_users_unlisted', 'users', ['station_id'], unique=False, sqlite_where=where,
                    postgresql_where=where)


def downgrade() -> None:
    op.drop_index('ix_users_unlisted', table_name='users')
