"""projects: campaigns, sites and focus-group sessions belong to a project; facilitator and
analyst become roles held per project; at most one open campaign per instrument, site, wave.

An upgraded server keeps working: its existing rows go into a "Default project", and
each user's global facilitator or analyst role becomes a membership of it with that role
(users.roles keeps only "admin"). Unpinned campaigns are pinned to the version they
serve today. Duplicate open campaigns (same instrument, site and wave) stay open, their
links unchanged, but all except the oldest get the campaign code appended to the wave
name, so that the new unique index holds and an admin can see which to close.

Revision ID: 0004_projects
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_projects'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
DEFAULT_PROJECT = "Default project"
DEFAULT_WAVES = ["baseline", "follow-up 1"]
OPEN = sa.text("status = 'open'")


def upgrade():
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('waves', JSON, nullable=False),
    sa.Column('min_cell_size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('project_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.CheckConstraint("role IN ('facilitator', 'analyst')", name=op.f('ck_project_members_role')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_members')),
    sa.UniqueConstraint('project_id', 'user_id', 'role', name=op.f('uq_project_members_project_id'))
    )
    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_members_user_id'), ['user_id'], unique=False)

    for table in ('sites', 'campaigns', 'focus_group_sessions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))

    _move_existing_rows_into_a_default_project()

    for table in ('sites', 'campaigns', 'focus_group_sessions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_project_id_projects'),
                                        'projects', ['project_id'], ['id'])
            if table == 'sites':
                batch_op.drop_constraint('uq_sites_name', type_='unique')
                batch_op.create_unique_constraint(batch_op.f('uq_sites_project_id'), ['project_id', 'name'])
            else:
                batch_op.create_index(batch_op.f(f'ix_{table}_project_id'), ['project_id'], unique=False)
            if table == 'campaigns':
                batch_op.create_index('uq_campaigns_open_identity', ['instrument_id', 'site_id', 'wave'],
                                      unique=True, sqlite_where=OPEN, postgresql_where=OPEN)


def _move_existing_rows_into_a_default_project():
    bind = op.get_bind()
    meta = sa.MetaData()
    projects = sa.Table('projects', meta, autoload_with=bind)
    members = sa.Table('project_members', meta, autoload_with=bind)
    users = sa.Table('users', meta, autoload_with=bind)
    campaigns = sa.Table('campaigns', meta, autoload_with=bind)
    versions = sa.Table('instrument_versions', meta, autoload_with=bind)
    tables = [sa.Table(name, meta, autoload_with=bind)
              for name in ('sites', 'campaigns', 'focus_group_sessions')]
    role_users = [(row.id, row.roles) for row in bind.execute(sa.select(users.c.id, users.c.roles))
                  if {'facilitator', 'analyst'} & set(row.roles.split(','))]
    has_rows = any(bind.execute(sa.select(t.c.id).limit(1)).first() for t in tables)
    if not (has_rows or role_users):
        return None  # a new, empty database: the first project is made by an admin

    # The waves already in use stay valid, after the default ones, in order of first use.
    used = [row.wave for row in bind.execute(
        sa.select(campaigns.c.wave, sa.func.min(campaigns.c.id).label('first'))
        .group_by(campaigns.c.wave).order_by('first'))]
    waves = DEFAULT_WAVES + [w for w in used if w not in DEFAULT_WAVES]
    project_id = bind.execute(projects.insert().values(
        name=DEFAULT_PROJECT, waves=waves, min_cell_size=5, created_at=sa.func.now())
        .returning(projects.c.id)).scalar_one()
    for table in tables:
        bind.execute(table.update().values(project_id=project_id))

    for user_id, roles in role_users:
        held = set(roles.split(','))
        for role in sorted(held & {'facilitator', 'analyst'}):
            bind.execute(members.insert().values(project_id=project_id, user_id=user_id, role=role))
        bind.execute(users.update().where(users.c.id == user_id)
                     .values(roles='admin' if 'admin' in held else ''))

    # Pin every campaign to the version it serves today (the newest of its instrument).
    for campaign in bind.execute(sa.select(campaigns.c.id, campaigns.c.instrument_id)
                                 .where(campaigns.c.instrument_version_id.is_(None))).all():
        newest = bind.execute(sa.select(sa.func.max(versions.c.id))
                              .where(versions.c.instrument_id == campaign.instrument_id)).scalar()
        if newest is not None:
            bind.execute(campaigns.update().where(campaigns.c.id == campaign.id)
                         .values(instrument_version_id=newest))

    seen = set()
    for campaign in bind.execute(sa.select(campaigns).where(campaigns.c.status == 'open')
                                 .order_by(campaigns.c.id)).all():
        identity = (campaign.instrument_id, campaign.site_id, campaign.wave)
        if identity in seen:
            bind.execute(campaigns.update().where(campaigns.c.id == campaign.id)
                         .values(wave=f"{campaign.wave[:40]} ({campaign.code[:8]})"))
        seen.add(identity)
    return project_id


def downgrade():
    bind = op.get_bind()
    meta = sa.MetaData()
    members = sa.Table('project_members', meta, autoload_with=bind)
    users = sa.Table('users', meta, autoload_with=bind)
    # Memberships become global roles again (of every project: the old model had no other).
    held = {}
    for row in bind.execute(sa.select(members.c.user_id, members.c.role)):
        held.setdefault(row.user_id, set()).add(row.role)
    for user_id, roles in held.items():
        current = bind.execute(sa.select(users.c.roles).where(users.c.id == user_id)).scalar_one()
        merged = sorted({r for r in current.split(',') if r} | roles)
        bind.execute(users.update().where(users.c.id == user_id).values(roles=','.join(merged)))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('uq_campaigns_open_identity', sqlite_where=OPEN, postgresql_where=OPEN)
    for table in ('focus_group_sessions', 'campaigns', 'sites'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'sites':
                batch_op.drop_constraint(batch_op.f('uq_sites_project_id'), type_='unique')
                batch_op.create_unique_constraint('uq_sites_name', ['name'])
            else:
                batch_op.drop_index(batch_op.f(f'ix_{table}_project_id'))
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_project_id_projects'), type_='foreignkey')
            batch_op.drop_column('project_id')

    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_members_user_id'))
    op.drop_table('project_members')
    op.drop_table('projects')
