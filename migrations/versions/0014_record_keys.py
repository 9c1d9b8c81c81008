"""record keys: a fixed random key per response and per focus-group segment

Revision ID: 0014_record_keys
Revises: 0013_theme_codebook
Create Date: 2026-12-05 17:45:00

responses.record_key and segments.record_key hold a random integer in [0, 2**31), drawn once
per row and never changed: the disclosure-control layer (domain/disclosure.py) rounds a
count by the sum of its records' keys, which a grouped select gives with SUM(record_key).
Existing rows are backfilled with the database's own random(); new rows get
secrets.randbits(31). The column is added nullable, filled, then made NOT NULL (batch
mode rebuilds the table on SQLite)."""
from alembic import op
import sqlalchemy as sa

revision = '0014_record_keys'
down_revision = '0013_theme_codebook'
branch_labels = None
depends_on = None

TABLES = ('responses', 'segments')


def _random_key() -> str:
    if op.get_bind().dialect.name == 'postgresql':
        return 'floor(random() * 2147483648)::int'
    # SQLite's random() is a 64-bit integer; abs() of its minimum overflows, hence the modulo first.
    return 'abs(random() % 2147483648)'


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('record_key', sa.Integer(), nullable=True))
        op.execute(f'UPDATE {table} SET record_key = {_random_key()}')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('record_key', existing_type=sa.Integer(), nullable=False)


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('record_key')
