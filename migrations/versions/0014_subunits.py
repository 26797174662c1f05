"""sub-units of teams (units, a membership's unit and leadership, a shift's unit), a police
assistant's area, the grid of checkpoints and tips

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:00:00
"""
from alembic import op
import sqlalchemy as sa

import volunteer_app.models.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

UTC = volunteer_app.models.base.UTCDateTime


def _add_unit_column(table: str) -> None:
    """A nullable ``unit_id`` referring to units, without rebuilding the table (SQLite adds a
    column with its reference in place; Alembic would drop the reference there)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN unit_id INTEGER REFERENCES units (id)")
    else:
        op.add_column(table, sa.Column('unit_id', sa.Integer(), nullable=True))
        op.create_foreign_key(None, table, 'units', ['unit_id'], ['id'])


def upgrade() -> None:
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'name', name='uq_units_team_name')
    )
    op.create_index(op.f('ix_units_station_id'), 'units', ['station_id'], unique=False)
    op.create_index(op.f('ix_units_team_id'), 'units', ['team_id'], unique=False)
    _add_unit_column('team_memberships')
    op.add_column('team_memberships', sa.Column('unit_leader', sa.Boolean(), nullable=False,
                                                server_default=sa.false()))
    op.create_index(op.f('ix_team_memberships_unit_id'), 'team_memberships', ['unit_id'], unique=False)
    _add_unit_column('shifts')
    op.add_column('users', sa.Column('area', sa.String(length=64), nullable=False, server_default=''))
    op.add_column('checkpoints', sa.Column('grid', sa.String(length=64), nullable=False, server_default=''))
    op.add_column('tips', sa.Column('grid', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('tips', schema=None) as batch_op:
        batch_op.drop_column('grid')
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_column('grid')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('area')
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_column('unit_id')
    op.drop_index(op.f('ix_team_memberships_unit_id'), table_name='team_memberships')
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.drop_column('unit_leader')
        batch_op.drop_column('unit_id')
    op.drop_index(op.f('ix_units_team_id'), table_name='units')
    op.drop_index(op.f('ix_units_station_id'), table_name='units')
    op.drop_table('units')
