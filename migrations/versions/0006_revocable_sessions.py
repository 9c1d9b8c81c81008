"""revocable sessions: users.session_epoch; held forms belong to the user whose login expired

Revision ID: 0006_revocable_sessions
Revises: 0005_response_drafts
Create Date: 2026-12-01 20:30:00

Held forms from before have no owner: they are never given back and expire as before."""
from alembic import op
import sqlalchemy as sa

revision = '0006_revocable_sessions'
down_revision = '0005_response_drafts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('held_forms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_held_forms_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_held_forms_user_id_users'), 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('held_forms', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_held_forms_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_held_forms_user_id'))
        batch_op.drop_column('user_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
