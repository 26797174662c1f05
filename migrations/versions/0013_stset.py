"""a station's own settings (stations.settings_json)

Revision ID: 0013
Revises: 0015
Create Date: 2026-12-06 22:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: every table refers to stations).
    op.add_column('stations', sa.Column('settings_json', sa.Text(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_column('settings_json')
