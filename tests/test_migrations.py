"""The migrations are the schema: they match the models and go down and up cleanly,
on SQLite and PostgreSQL."""
import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from surveyapp import operations
from surveyapp.extensions import db


def tables(app):
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_match_the_models(app):
    with app.app_context():
        check()  # raises if autogenerate would find any difference


def test_downgrade_to_nothing_and_up_again(app):
    expected = {table.name for table in db.metadata.sorted_tables}
    assert tables(app) == expected
    with app.app_context():
        downgrade(revision="base")
        db.session.remove()
    assert tables(app) == set()
    with app.app_context():
        upgrade()
        # The PostgreSQL schema is shared by the session's tests: put the instruments back.
        operations.transaction(lambda: operations.instruments.sync_instruments([app.config["INSTRUMENTS_DIR"]]))
        db.session.remove()
    assert tables(app) == expected


def test_upgrade_puts_existing_data_in_a_default_project(app):
    """A server upgraded to 0004_projects keeps working: its rows join a Default project,
    global facilitator and analyst roles become memberships of it, campaigns are pinned,
    and duplicate open campaigns stay open under a wave name that tells them apart."""
    with app.app_context():
        downgrade(revision="0003")
        db.session.remove()
        with db.engine.begin() as connection:
            run = lambda sql, **params: connection.execute(sa.text(sql), params)  # noqa: E731
            now = "2026-11-01 10:00:00+00:00"
            version_id = run("SELECT max(id) FROM instrument_versions "
                             "WHERE instrument_id = 'community-capacity'").scalar()
            for user_id, email, roles in ((1, "boss@example.org", "admin,facilitator"),
                                          (2, "ana@example.org", "analyst"),
                                          (3, "fac@example.org", "facilitator")):
                run("INSERT INTO users (id, email, password_hash, roles, active, created_at) "
                    "VALUES (:id, :email, 'x', :roles, true, :now)", id=user_id, email=email,
                    roles=roles, now=now)
            run("INSERT INTO sites (id, name, created_at) VALUES (1, 'Riverside', :now)", now=now)
            for campaign_id, code, wave in ((1, "first1", "baseline"), (2, "second", "baseline"),
                                            (3, "later1", "mid-term")):
                run("INSERT INTO campaigns (id, code, instrument_id, site_id, wave, status, unlisted, "
                    "created_at) VALUES (:id, :code, 'community-capacity', 1, :wave, 'open', false, :now)",
                    id=campaign_id, code=code, wave=wave, now=now)
            run("INSERT INTO focus_group_sessions (id, guide_id, guide_version_id, site_id, wave, "
                "held_on, place, language, consent_given, consent_note, fields, status, created_at) "
                "VALUES (1, 'g', :version, 1, 'baseline', '2026-11-01', '', 'en', true, '', '{}', "
                "'draft', :now)", version=version_id, now=now)
        upgrade()
        if db.engine.dialect.name == "sqlite":  # turned off for the table copies, and back on
            assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        from surveyapp.models import Campaign, FocusGroup, Project, Site, User
        (project,) = db.session.scalars(sa.select(Project)).all()
        assert project.name == "Default project"
        assert project.waves == ["baseline", "follow-up 1", "mid-term"]
        assert {s.project_id for s in db.session.scalars(sa.select(Site))} == {project.id}
        assert db.session.get(FocusGroup, 1).project_id == project.id
        campaigns = {c.code: c for c in db.session.scalars(sa.select(Campaign))}
        assert {c.project_id for c in campaigns.values()} == {project.id}
        assert {c.instrument_version_id for c in campaigns.values()} == {version_id}
        assert [campaigns[code].wave for code in ("first1", "second", "later1")] == [
            "baseline", "baseline (second)", "mid-term"]
        assert {c.status for c in campaigns.values()} == {"open"}
        users = {u.email: u for u in db.session.scalars(sa.select(User))}
        assert users["boss@example.org"].roles == "admin"
        assert {(u, m.role) for u, user in users.items() for m in user.memberships} == {
            ("boss@example.org", "facilitator"), ("ana@example.org", "analyst"),
            ("fac@example.org", "facilitator")}
        db.session.remove()  # an open read would block the downgrade's DDL on PostgreSQL

        downgrade(revision="0003")  # and back: the memberships are global roles again
        roles = dict(db.session.execute(sa.text("SELECT email, roles FROM users")).all())
        assert roles == {"boss@example.org": "admin,facilitator", "ana@example.org": "analyst",
                         "fac@example.org": "facilitator"}
        db.session.remove()
        with db.engine.begin() as connection:
            for table in ("focus_group_sessions", "campaigns", "sites", "users"):
                connection.execute(sa.text(f"DELETE FROM {table}"))
        upgrade()
        db.session.remove()


def test_the_postgres_reset_empties_every_table_the_models_declare(postgres_url, tmp_path):
    """The reset between PostgreSQL tests is built from the metadata: a table added later
    (projects, say) cannot keep one test's rows for the next."""
    from tests.conftest import _reset_postgres, running_app
    with running_app(postgres_url, tmp_path) as application:
        with application.app_context():
            def work():
                project = operations.staff.create_project("Council")
                operations.staff.create_user("a@example.org", "long enough pw", ["analyst"], project)
                operations.campaigns.create_campaign(
                    "community-capacity", operations.campaigns.get_or_create_site("R", project=project),
                    "baseline")
            operations.transaction(work)
            db.session.remove()
        _reset_postgres(application)
        with application.app_context():
            kept = {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
                    for table in db.metadata.sorted_tables if table.name != "instrument_versions"}
            assert kept == dict.fromkeys(kept, 0)
            assert db.session.scalar(sa.select(sa.func.count()).select_from(
                db.metadata.tables["instrument_versions"])) > 0  # the shipped ones stay
