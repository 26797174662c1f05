"""attempts: the rate limits' counters other than login's (refused check-in codes,
registrations); users.username_skeleton: what a username looks like, for the look-alike check

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 13:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import volunteer_app.models.base
from volunteer_app import usernames


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', volunteer_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_kind_key_created', ['kind', 'key', 'created_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_skeleton', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.create_index('ix_users_username_skeleton', ['username_skeleton'], unique=False)
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('username', sa.String()),
                     sa.column('username_skeleton', sa.String()))
    connection = op.get_bind()
    for user_id, username in connection.execute(sa.select(users.c.id, users.c.username)).all():
        connection.execute(users.update().where(users.c.id == user_id)
                           .values(username_skeleton=usernames.skeleton(username)))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_username_skeleton')
        batch_op.drop_column('username_skeleton')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_kind_key_created')
    op.drop_table('attempts')
