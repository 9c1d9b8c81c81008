"""themes: engine runs, the themes analysts review, machine and analyst assignments

Revision ID: 0008_themes
Revises: 0007_scores
Create Date: 2026-12-01 21:26:44

New tables only; nothing existing changes."""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008_themes'
down_revision = '0007_scores'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('theme_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('engine_version', sa.String(length=20), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('themes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('unthemed', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('question', 'prompt')", name=op.f('ck_theme_runs_kind')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_theme_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_theme_runs_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_runs'))
    )
    with op.batch_alter_table('theme_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_runs_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_theme_runs_source_key'), ['source_key'], unique=False)

    op.create_table('themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=300), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('machine_label', sa.String(length=300), nullable=False),
    sa.Column('renamed', sa.Boolean(), nullable=False),
    sa.Column('key_phrases', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quotes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sentiment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['theme_runs.id'], name=op.f('fk_themes_run_id_theme_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_themes'))
    )
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_themes_source_key'), ['source_key'], unique=False)

    op.create_table('theme_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=300), nullable=False),
    sa.Column('assigned_by', sa.String(length=10), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answer_key', sa.String(length=200), nullable=True),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('text_digest', sa.String(length=64), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("assigned_by IN ('machine', 'analyst')", name=op.f('ck_theme_assignments_assigned_by')),
    sa.CheckConstraint('(response_id IS NULL) != (segment_id IS NULL)', name=op.f('ck_theme_assignments_one_item')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_theme_assignments_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['theme_runs.id'], name=op.f('fk_theme_assignments_run_id_theme_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_theme_assignments_segment_id_segments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_theme_assignments_theme_id_themes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_assignments'))
    )
    with op.batch_alter_table('theme_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_theme_assignments_source', ['source_key', 'assigned_by'], unique=False)



def downgrade():
    with op.batch_alter_table('theme_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_theme_assignments_source')

    op.drop_table('theme_assignments')
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_themes_source_key'))

    op.drop_table('themes')
    with op.batch_alter_table('theme_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_runs_source_key'))
        batch_op.drop_index(batch_op.f('ix_theme_runs_project_id'))

    op.drop_table('theme_runs')
