"""care_households.grid holds 64 characters, as the grids of checkpoints and tips and a police
assistant's area do (one grid names the same place everywhere)

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 01:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('care_households') as batch:
        batch.alter_column('grid', existing_type=sa.String(length=50), type_=sa.String(length=64),
                           existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE care_households SET grid = substr(grid, 1, 50)")
    with op.batch_alter_table('care_households') as batch:
        batch.alter_column('grid', existing_type=sa.String(length=64), type_=sa.String(length=50),
                           existing_nullable=False)
