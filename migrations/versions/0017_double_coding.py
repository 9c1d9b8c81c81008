"""double coding: samples coded blind by two or more analysts, and who made an assignment

Revision ID: 0017_double_coding
Revises: 0016_panel_links
Create Date: 2026-12-05 18:16:45

Issue 24. coding_samples: a seeded random sample of a theme source's items; each coder
(coding_sample_coders, done_at once finished) gives one coding_decisions row per item;
coding_resolutions records the code settled on where they disagreed. Decisions and
resolutions hold a theme id without a foreign key (with the label as chosen): a re-run
may drop a theme and the agreement figures must outlive it.
theme_assignments.user_id names the analyst of an analyst row, basis says whether it was
"resolved" after double coding or a classifier "proposal" an analyst accepted (with its
confidence)."""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0017_double_coding'
down_revision = '0016_panel_links'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coding_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('instrument_id', sa.String(length=100), nullable=False),
    sa.Column('item_id', sa.String(length=100), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('refs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('question', 'prompt')", name=op.f('ck_coding_samples_kind')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_coding_samples_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_coding_samples_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_coding_samples_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coding_samples'))
    )
    with op.batch_alter_table('coding_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coding_samples_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coding_samples_source_key'), ['source_key'], unique=False)

    op.create_table('coding_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=250), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('coded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sample_id'], ['coding_samples.id'], name=op.f('fk_coding_decisions_sample_id_coding_samples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coding_decisions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coding_decisions')),
    sa.UniqueConstraint('sample_id', 'user_id', 'ref', name=op.f('uq_coding_decisions_sample_id'))
    )
    op.create_table('coding_resolutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=250), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_coding_resolutions_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sample_id'], ['coding_samples.id'], name=op.f('fk_coding_resolutions_sample_id_coding_samples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coding_resolutions')),
    sa.UniqueConstraint('sample_id', 'ref', name=op.f('uq_coding_resolutions_sample_id'))
    )
    op.create_table('coding_sample_coders',
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['sample_id'], ['coding_samples.id'], name=op.f('fk_coding_sample_coders_sample_id_coding_samples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coding_sample_coders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_id', 'user_id', name=op.f('pk_coding_sample_coders'))
    )
    with op.batch_alter_table('coding_sample_coders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coding_sample_coders_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('theme_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('basis', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('confidence', sa.Float(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_theme_assignments_user_id_users'), 'users', ['user_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('theme_assignments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_theme_assignments_user_id_users'), type_='foreignkey')
        batch_op.drop_column('confidence')
        batch_op.drop_column('basis')
        batch_op.drop_column('user_id')

    with op.batch_alter_table('coding_sample_coders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coding_sample_coders_user_id'))

    op.drop_table('coding_sample_coders')
    op.drop_table('coding_resolutions')
    op.drop_table('coding_decisions')
    with op.batch_alter_table('coding_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coding_samples_source_key'))
        batch_op.drop_index(batch_op.f('ix_coding_samples_project_id'))

    op.drop_table('coding_samples')
