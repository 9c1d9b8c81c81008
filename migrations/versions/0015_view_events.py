"""view_events: the append-only record of who looked at what

Revision ID: 0015_view_events
Revises: 0014_record_keys
Create Date: 2026-12-05 18:20:00

One row per page or file of residents' data a person reads (issue 22 item 3). A table of
its own beside audit_events: reads outnumber changes by orders of magnitude. Each index
serves one filter of the admin page and ends in (at, id), the page's keyset order, so a
page of 50 is one index range scan at a million rows. Triggers on both databases refuse
UPDATE and DELETE, as on audit_events."""
from alembic import op
import sqlalchemy as sa

revision = '0015_view_events'
down_revision = '0014_record_keys'
branch_labels = None
depends_on = None

REFUSAL = "view_events is append-only"
INDEXES = {
    'ix_view_events_at': ['at', 'id'],
    'ix_view_events_user': ['user_id', 'at', 'id'],
    'ix_view_events_object': ['object_kind', 'object_id', 'at', 'id'],
    'ix_view_events_project': ['project_id', 'at', 'id'],
    'ix_view_events_action': ['action', 'at', 'id'],
}


def upgrade():
    op.create_table('view_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_kind', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.String(length=200), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=100), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('ip_hash', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_view_events'))
    )
    with op.batch_alter_table('view_events', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION view_events_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}';
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER view_events_append_only BEFORE UPDATE OR DELETE ON view_events
            FOR EACH ROW EXECUTE FUNCTION view_events_refuse_change()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER view_events_no_{event.lower()} BEFORE {event} ON view_events
                BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS view_events_append_only ON view_events")
        op.execute("DROP FUNCTION IF EXISTS view_events_refuse_change()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS view_events_no_{event}")
    with op.batch_alter_table('view_events', schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)

    op.drop_table('view_events')
