"""points that lapse: lots of points earned under a rule that lapses, and what each entry drew
from them (points held before lapse never: they are in no lot); the store's sponsors, the goods
received from them, and vouchers used at a sponsor's.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import volunteer_app.models.base

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
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
    op.create_table('sponsors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('name', AutoString(length=100), nullable=False),
    sa.Column('contact', AutoString(length=200), nullable=False),
    sa.Column('kind', AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('link_version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sponsors_station_id', 'sponsors', ['station_id'], unique=False)
    with op.batch_alter_table('store_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', AutoString(length=16), nullable=False, server_default='goods'))
        batch_op.add_column(sa.Column('sponsor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_store_items_sponsor_id', 'sponsors', ['sponsor_id'], ['id'])
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sponsor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_redemptions_sponsor_id', 'sponsors', ['sponsor_id'], ['id'])
        batch_op.create_index('ix_redemptions_sponsor_id', ['sponsor_id'], unique=False)
    op.create_table('sponsor_gifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=True),
    sa.Column('note', AutoString(length=500), nullable=False),
    sa.Column('movement_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['store_items.id'], ),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], ),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sponsor_gifts_sponsor_received', 'sponsor_gifts', ['sponsor_id', 'received_on'], unique=False)
    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.Column('number', AutoString(length=16), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.Column('expires_at', UTC(timezone=True), nullable=False),
    sa.Column('used_at', UTC(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], ),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('redemption_id')
    )
    op.create_index('ix_vouchers_expires_at', 'vouchers', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_vouchers_expires_at', table_name='vouchers')
    op.drop_table('vouchers')
    op.drop_index('ix_sponsor_gifts_sponsor_received', table_name='sponsor_gifts')
    op.drop_table('sponsor_gifts')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_sponsor_id')
        batch_op.drop_constraint('fk_redemptions_sponsor_id', type_='foreignkey')
        batch_op.drop_column('sponsor_id')
    with op.batch_alter_table('store_items', schema=None) as batch_op:
        batch_op.drop_constraint('fk_store_items_sponsor_id', type_='foreignkey')
        batch_op.drop_column('sponsor_id')
        batch_op.drop_column('kind')
    op.drop_index('ix_sponsors_station_id', table_name='sponsors')
    op.drop_table('sponsors')
    op.drop_index('ix_points_lot_draws_lot_id', table_name='points_lot_draws')
    op.drop_index('ix_points_lot_draws_entry_id', table_name='points_lot_draws')
    op.drop_table('points_lot_draws')
    op.drop_index('ix_points_lots_due', table_name='points_lots')
    op.drop_index('ix_points_lots_user_id_expires_on', table_name='points_lots')
    op.drop_table('points_lots')
