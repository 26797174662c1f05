"""service_team_days: confirmed minutes and records per team, sub-unit and station-local day (the
sum of the members' service_day_totals), which the hours by team read instead of every member's rows

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_team_days',
                    sa.Column('team_id', sa.Integer(), nullable=False),
                    sa.Column('unit_id', sa.Integer(), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('minutes', sa.Integer(), nullable=False),
                    sa.Column('records', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_service_team_days_team_id_teams'),
                    sa.PrimaryKeyConstraint('team_id', 'unit_id', 'day', name='pk_service_team_days'))
    # The members' day totals so far, summed per team and sub-unit (0: in none).
    op.execute("INSERT INTO service_team_days (team_id, unit_id, day, minutes, records) "
               "SELECT m.team_id, COALESCE(m.unit_id, 0), d.day, SUM(d.minutes), SUM(d.records) "
               "FROM team_memberships m JOIN service_day_totals d ON d.user_id = m.user_id "
               "GROUP BY m.team_id, COALESCE(m.unit_id, 0), d.day")


def downgrade() -> None:
    op.drop_table('service_team_days')
