"""care visits (households, assignments, visits, visitors), the mediation room (cases,
mediators) and publicity sessions' reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import volunteer_app.models.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTC = volunteer_app.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table('care_households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('kind', AutoString(length=32), nullable=False),
    sa.Column('label', AutoString(length=50), nullable=False),
    sa.Column('grid', AutoString(length=50), nullable=False),
    sa.Column('name_sealed', AutoString(length=1000), nullable=False),
    sa.Column('address_sealed', AutoString(length=1000), nullable=False),
    sa.Column('contact_sealed', AutoString(length=1000), nullable=False),
    sa.Column('needs_sealed', AutoString(length=3000), nullable=False),
    sa.Column('visit_every_days', sa.Integer(), nullable=False),
    sa.Column('last_visited_at', UTC(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_care_households_station_active', 'care_households', ['station_id', 'active'], unique=False)
    op.create_table('care_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['care_households.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('household_id', 'user_id', name='uq_care_assignments_household_user')
    )
    op.create_index('ix_care_assignments_user', 'care_assignments', ['user_id'], unique=False)
    op.create_table('care_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('started_at', UTC(timezone=True), nullable=False),
    sa.Column('ended_at', UTC(timezone=True), nullable=False),
    sa.Column('condition', AutoString(length=16), nullable=False),
    sa.Column('concern', sa.Boolean(), nullable=False),
    sa.Column('note_sealed', AutoString(length=3000), nullable=False),
    sa.Column('concern_note_sealed', AutoString(length=3000), nullable=False),
    sa.Column('photo', AutoString(length=100), nullable=True),
    sa.Column('concern_closed_at', UTC(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['care_households.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_care_visits_household_started', 'care_visits', ['household_id', 'started_at'], unique=False)
    op.create_index('ix_care_visits_station_concern', 'care_visits', ['station_id', 'concern'], unique=False)
    op.create_table('mediation_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('started_at', UTC(timezone=True), nullable=False),
    sa.Column('ended_at', UTC(timezone=True), nullable=False),
    sa.Column('place', AutoString(length=200), nullable=False),
    sa.Column('parties', AutoString(length=300), nullable=False),
    sa.Column('dispute_kind', AutoString(length=16), nullable=False),
    sa.Column('outcome', AutoString(length=16), nullable=False),
    sa.Column('agreement_note', AutoString(length=1000), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=True),
    sa.Column('followup_at', UTC(timezone=True), nullable=True),
    sa.Column('satisfaction', AutoString(length=20), nullable=True),
    sa.Column('followup_note', AutoString(length=1000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['tip_id'], ['tips.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tip_id')
    )
    op.create_index('ix_mediation_cases_station_started', 'mediation_cases', ['station_id', 'started_at'], unique=False)
    op.create_table('care_visitors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['care_visits.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('visit_id', 'user_id', name='uq_care_visitors_visit_user')
    )
    op.create_index('ix_care_visitors_user', 'care_visitors', ['user_id'], unique=False)
    op.create_table('mediation_mediators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['mediation_cases.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'user_id', name='uq_mediation_mediators_case_user')
    )
    op.create_index('ix_mediation_mediators_user', 'mediation_mediators', ['user_id'], unique=False)
    op.create_table('publicity_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.Integer(), nullable=False),
    sa.Column('materials', sa.Integer(), nullable=False),
    sa.Column('summary', AutoString(length=500), nullable=False),
    sa.Column('photo', AutoString(length=100), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index(op.f('ix_publicity_reports_station_id'), 'publicity_reports', ['station_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_publicity_reports_station_id'), table_name='publicity_reports')
    op.drop_table('publicity_reports')
    op.drop_index('ix_mediation_mediators_user', table_name='mediation_mediators')
    op.drop_table('mediation_mediators')
    op.drop_index('ix_care_visitors_user', table_name='care_visitors')
    op.drop_table('care_visitors')
    op.drop_index('ix_mediation_cases_station_started', table_name='mediation_cases')
    op.drop_table('mediation_cases')
    op.drop_index('ix_care_visits_station_concern', table_name='care_visits')
    op.drop_index('ix_care_visits_household_started', table_name='care_visits')
    op.drop_table('care_visits')
    op.drop_index('ix_care_assignments_user', table_name='care_assignments')
    op.drop_table('care_assignments')
    op.drop_index('ix_care_households_station_active', table_name='care_households')
    op.drop_table('care_households')
