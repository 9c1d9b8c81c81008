"""published results: a publication per campaign, and the theme quotes approved for it

Revision ID: 0012_published_results
Revises: 0011_partner_role
Create Date: 2026-12-03 14:30:00

New tables only; nothing existing changes."""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0012_published_results'
down_revision = '0011_partner_role'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('next_steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('unpublished', 'published')", name=op.f('ck_publications_state')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_publications_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_publications_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('campaign_id', name=op.f('uq_publications_campaign_id'))
    )
    op.create_table('approved_quotes',
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_approved_quotes_approved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_approved_quotes_publication_id_publications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_approved_quotes_theme_id_themes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('publication_id', 'theme_id', 'digest', name=op.f('pk_approved_quotes'))
    )


def downgrade():
    op.drop_table('approved_quotes')
    op.drop_table('publications')
