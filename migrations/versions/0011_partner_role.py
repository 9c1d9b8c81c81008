"""partner: an aggregates-only project role (project_members.role may be "partner")

Revision ID: 0011_partner_role
Revises: 0008_themes
Create Date: 2026-12-02 21:50:00

Only the check constraint on project_members.role changes. SQLite cannot alter a
constraint, so the table is rebuilt there (batch mode)."""
from alembic import op

revision = '0011_partner_role'
down_revision = '0010_audit_events'
branch_labels = None
depends_on = None

NEW = "role IN ('facilitator', 'analyst', 'partner')"
OLD = "role IN ('facilitator', 'analyst')"


def _replace(condition):
    with op.batch_alter_table('project_members', recreate='auto') as batch:
        batch.drop_constraint(op.f('ck_project_members_role'), type_='check')
        batch.create_check_constraint(op.f('ck_project_members_role'), condition)


def upgrade():
    _replace(NEW)


def downgrade():
    # A partner membership cannot be kept under the old constraint: it is removed.
    op.execute("DELETE FROM project_members WHERE role = 'partner'")
    _replace(OLD)
