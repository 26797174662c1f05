"""webhooks and their deliveries (the outbox); call-outs and their answers

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import volunteer_app.models.base


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

UTC = volunteer_app.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('events', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhooks_station_active', 'webhooks', ['station_id', 'active'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=False),
        sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC, nullable=False),
        sa.Column('give_up_at', UTC, nullable=False),
        sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('delivered_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id']),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('webhook_id', 'dedupe_key', name='uq_webhook_deliveries_dedupe'),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_webhook_id', 'webhook_deliveries', ['webhook_id', 'id'])
    op.create_table(
        'callouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('needed', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('team_ids', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('coming_count', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.Column('closed_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_callouts_station_status_expires', 'callouts', ['station_id', 'status', 'expires_at'])
    op.create_table(
        'callout_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('callout_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('answered_at', UTC, nullable=False),
        sa.Column('first_answered_at', UTC, nullable=False),
        sa.Column('arrived_at', UTC, nullable=True),
        sa.Column('arrived_marked_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['arrived_marked_by'], ['users.id']),
        sa.ForeignKeyConstraint(['callout_id'], ['callouts.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('callout_id', 'user_id', name='uq_callout_answers_callout_user'),
    )
    op.create_index(op.f('ix_callout_answers_user_id'), 'callout_answers', ['user_id'])


def downgrade() -> None:
    op.drop_table('callout_answers')
    op.drop_table('callouts')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
