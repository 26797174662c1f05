"""points that lapse: lots of points earned under a rule that lapses, and what each entry drew
from them (points held before lapse never: they are in no lot).

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa

import volunteer_app.models.base

revision = '0010'
down_revision = '0005'
branch_labels = None
depends_on = None

UTC = volunteer_app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table('points_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.CheckConstraint('remaining >= 0 AND remaining <= amount', name='ck_points_lots_remaining'),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_points_lots_user_id_expires_on', 'points_lots', ['user_id', 'expires_on'], unique=False)
    due = sa.text("remaining > 0")
    op.create_index('ix_points_lots_due', 'points_lots', ['expires_on'], unique=False, sqlite_where=due,
                    postgresql_where=due)
    op.create_table('points_lot_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], ),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_points_lot_draws_entry_id', 'points_lot_draws', ['entry_id'], unique=False)
    op.create_index('ix_points_lot_draws_lot_id', 'points_lot_draws', ['lot_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_points_lot_draws_lot_id', table_name='points_lot_draws')
    op.drop_index('ix_points_lot_draws_entry_id', table_name='points_lot_draws')
    op.drop_table('points_lot_draws')
    op.drop_index('ix_points_lots_due', table_name='points_lots')
    op.drop_index('ix_points_lots_user_id_expires_on', table_name='points_lots')
    op.drop_table('points_lots')
