"""service records and kinds; duty posts; events' service kind, credit and sign-out; check-ins'
direction; members' real name, ID number and volunteer number. Completed shifts become
confirmed route records with their minutes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 16:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import volunteer_app.models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTC = volunteer_app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table('service_kinds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('key', AutoString(length=32), nullable=False),
    sa.Column('name', AutoString(length=50), nullable=False),
    sa.Column('points_per_hour', sa.Integer(), nullable=False),
    sa.Column('makeup_earns_points', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('station_id', 'key', name='uq_service_kinds_station_key')
    )
    with op.batch_alter_table('service_kinds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_kinds_station_id'), ['station_id'], unique=False)

    op.create_table('service_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', AutoString(length=32), nullable=False),
    sa.Column('place', AutoString(length=200), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('started_at', UTC(timezone=True), nullable=False),
    sa.Column('ended_at', UTC(timezone=True), nullable=True),
    sa.Column('last_scan_at', UTC(timezone=True), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('weighted_minutes', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('source', AutoString(length=16), nullable=False),
    sa.Column('status', AutoString(length=16), nullable=False),
    sa.Column('note', AutoString(length=500), nullable=False),
    sa.Column('review_note', AutoString(length=500), nullable=False),
    sa.Column('photo', AutoString(length=100), nullable=True),
    sa.Column('source_key', AutoString(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', UTC(timezone=True), nullable=True),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], ),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.create_index('ix_service_records_station_status', ['station_id', 'status'], unique=False)
        batch_op.create_index('ix_service_records_status_started', ['status', 'started_at'], unique=False)
        batch_op.create_index('ix_service_records_user_started', ['user_id', 'started_at'], unique=False)

    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duty_post', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('service_kind', AutoString(length=32), nullable=False,
                                      server_default='tea_room'))
        batch_op.add_column(sa.Column('max_duty_hours', sa.Integer(), nullable=False, server_default='12'))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_kind', AutoString(length=32), nullable=False,
                                      server_default='publicity'))
        batch_op.add_column(sa.Column('credit', AutoString(length=8), nullable=False, server_default='scans'))
        batch_op.add_column(sa.Column('signout_open', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('direction', AutoString(length=4), nullable=False, server_default='in'))
        batch_op.drop_constraint('uq_checkins_event_user', type_='unique')
        batch_op.create_unique_constraint('uq_checkins_event_user_direction', ['event_id', 'user_id', 'direction'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('real_name', AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_number_encrypted', AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('id_number_last4', AutoString(length=4), nullable=True))
        batch_op.add_column(sa.Column('id_consent_at', UTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('volunteer_number', AutoString(length=32), nullable=True))
    for table, columns in (('checkpoints', ('duty_post', 'service_kind', 'max_duty_hours')),
                           ('events', ('service_kind', 'credit', 'signout_open')), ('checkins', ('direction',))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)

    # Completed shifts become confirmed route records with the minutes they were credited
    # (users.minutes_served already holds them: nothing earned is lost or doubled).
    op.execute(sa.text(
        "INSERT INTO service_records (station_id, user_id, kind, place, shift_id, started_at, ended_at, last_scan_at,"
        " minutes, weighted_minutes, points, source, status, note, review_note, source_key, confirmed_by_id,"
        " created_at) "
        "SELECT s.station_id, su.user_id, 'patrol', substr(s.title, 1, 200), s.id, s.starts_at, s.ends_at,"
        " s.ends_at, su.minutes_credited, su.minutes_credited, 0, 'route', 'confirmed', '', '',"
        " 'route:' || CAST(s.id AS VARCHAR(20)) || ':' || CAST(su.user_id AS VARCHAR(20)), su.confirmed_by_id,"
        " su.completed_at "
        "FROM shift_signups su JOIN shifts s ON s.id = su.shift_id WHERE su.completed_at IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in ('volunteer_number', 'id_consent_at', 'id_number_last4', 'id_number_encrypted', 'real_name'):
            batch_op.drop_column(column)
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_constraint('uq_checkins_event_user_direction', type_='unique')
        batch_op.create_unique_constraint('uq_checkins_event_user', ['event_id', 'user_id'])
        batch_op.drop_column('direction')
    with op.batch_alter_table('events', schema=None) as batch_op:
        for column in ('signout_open', 'credit', 'service_kind'):
            batch_op.drop_column(column)
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        for column in ('max_duty_hours', 'service_kind', 'duty_post'):
            batch_op.drop_column(column)
    op.drop_table('service_records')
    op.drop_table('service_kinds')
