"""theme codebook: themes from a codebook, and assignments made by applying it

Revision ID: 0013_theme_codebook
Revises: 0012_published_results
Create Date: 2026-12-03 14:30:00

themes.codebook_code names the codebook theme a row stands for (NULL: a theme the engine
found or an analyst made). theme_assignments.assigned_by may now be "codebook", and
theme_assignments.evidence keeps the keywords that matched. SQLite cannot alter a check
constraint, so theme_assignments is rebuilt there (batch mode)."""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013_theme_codebook'
down_revision = '0012_published_results'
branch_labels = None
depends_on = None

NEW = "assigned_by IN ('machine', 'analyst', 'codebook')"
OLD = "assigned_by IN ('machine', 'analyst')"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('codebook_code', sa.String(length=100), nullable=True))
    with op.batch_alter_table('theme_assignments', recreate='auto') as batch_op:
        batch_op.add_column(sa.Column('evidence', JSON, nullable=True))
        batch_op.drop_constraint(op.f('ck_theme_assignments_assigned_by'), type_='check')
        batch_op.create_check_constraint(op.f('ck_theme_assignments_assigned_by'), NEW)


def downgrade():
    # Codebook assignments and themes cannot be kept under the old schema: they go.
    op.execute("DELETE FROM theme_assignments WHERE assigned_by = 'codebook'")
    op.execute("DELETE FROM themes WHERE codebook_code IS NOT NULL")
    with op.batch_alter_table('theme_assignments', recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_theme_assignments_assigned_by'), type_='check')
        batch_op.create_check_constraint(op.f('ck_theme_assignments_assigned_by'), OLD)
        batch_op.drop_column('evidence')
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.drop_column('codebook_code')
