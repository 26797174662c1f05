"""checkins.received_at: when a check-in reached the server (a scan kept on a phone without
signal arrives after its created_at, the moment it was scanned)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa

import volunteer_app.models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_at', volunteer_app.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE checkins SET received_at = created_at")
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.alter_column('received_at', existing_type=volunteer_app.models.base.UTCDateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_column('received_at')
