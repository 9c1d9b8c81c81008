"""response scores: each complete response's 0-100 score per capacity domain

Revision ID: 0007_scores
Revises: 0006_revocable_sessions
Create Date: 2026-12-01 21:30:00

Responses completed before this have no scores until `surveyapp scores backfill` runs."""
from alembic import op
import sqlalchemy as sa

revision = '0007_scores'
down_revision = '0006_revocable_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_scores',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('domain_id', sa.String(length=100), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('n_items', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_scores_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'domain_id', name=op.f('pk_response_scores'))
    )


def downgrade():
    op.drop_table('response_scores')
