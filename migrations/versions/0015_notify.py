"""notice preferences, text messages (SMS) waiting to be sent, a call-out's checkpoint

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-06 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import volunteer_app.models.base

revision = '0015'
down_revision = '0016'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTC = volunteer_app.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'notice_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('muted', AutoString(length=200), nullable=False),
        sa.Column('sms_muted', AutoString(length=100), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
    )
    op.create_table(
        'sms_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', AutoString(length=32), nullable=False),
        sa.Column('text', AutoString(length=300), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('slot', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', AutoString(length=96), nullable=True),
        sa.Column('status', AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC, nullable=False),
        sa.Column('give_up_at', UTC, nullable=False),
        sa.Column('claim', AutoString(length=32), nullable=True),
        sa.Column('last_error', AutoString(length=300), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('sent_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
        sa.UniqueConstraint('user_id', 'day', 'slot', name='uq_sms_messages_user_day_slot'),
    )
    op.create_index('ix_sms_messages_due', 'sms_messages', ['status', 'next_attempt_at'])
    with op.batch_alter_table('callouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpoint_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_callouts_checkpoint_id', 'checkpoints', ['checkpoint_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('callouts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_callouts_checkpoint_id', type_='foreignkey')
        batch_op.drop_column('checkpoint_id')
    op.drop_index('ix_sms_messages_due', table_name='sms_messages')
    op.drop_table('sms_messages')
    op.drop_table('notice_preferences')
