"""response drafts: raw values of a page left without passing (Back, Save, language switch)

Revision ID: 0005_response_drafts
Revises: 0004_projects
Create Date: 2026-12-01 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005_response_drafts'
down_revision = '0004_projects'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_drafts',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_drafts_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', name=op.f('pk_response_drafts'))
    )


def downgrade():
    op.drop_table('response_drafts')
