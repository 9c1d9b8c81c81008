"""panel_links: the keyed hash of a resident's panel code, per response and wave

Revision ID: 0016_panel_links
Revises: 0015_view_events
Create Date: 2026-12-05 18:30:00

One row per linked response (issue 25 item 1): link_key is the HMAC of (project, panel
code) under PANEL_SECRET, which lives in configuration, never here, so a backup of the
database cannot be used to test guessed codes. UNIQUE (project_id, wave, link_key) lets a
code link one response per wave; response_id is unique and cascades, so deleting a
response (or an admin's unlink, which deletes the row) leaves nothing behind."""
from alembic import op
import sqlalchemy as sa

revision = '0016_panel_links'
down_revision = '0015_view_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('panel_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wave', sa.String(length=50), nullable=False),
    sa.Column('link_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                            name=op.f('fk_panel_links_project_id_projects')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'],
                            name=op.f('fk_panel_links_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_links')),
    sa.UniqueConstraint('project_id', 'wave', 'link_key', name='uq_panel_links_wave_key'),
    sa.UniqueConstraint('response_id', name=op.f('uq_panel_links_response_id'))
    )
    with op.batch_alter_table('panel_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_links_project_id'), ['project_id'], unique=False)


def downgrade():
    with op.batch_alter_table('panel_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_links_project_id'))

    op.drop_table('panel_links')
