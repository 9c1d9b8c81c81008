"""Fixtures: an app on a fresh, migrated database, its client and CLI runner, a live server.

Database tests run on SQLite and, when SURVEYAPP_TEST_POSTGRES_URL is set, again
on PostgreSQL. Under CI=true a missing PostgreSQL URL (or Chromium, for the
browser tests) is a failure, not a skip.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from contextlib import contextmanager
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from surveyapp import create_app, operations, queries
from surveyapp.domain.transcripts import parse_quick_entry
from surveyapp.extensions import db
from surveyapp.jobs import thread_backend
from surveyapp.models import InstrumentVersion
from tests.helpers import LIGHTS, POLICE, SHIPPED, login, make_user, plant

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("SURVEYAPP_TEST_POSTGRES_URL")
# One schema per test run, so that two runs on one machine (a developer's and CI's)
# cannot drop each other's tables.
PG_SCHEMA = f"surveyapp_test_{os.getpid()}"
ARTIFACTS = ROOT / "tests" / "artifacts"


def missing(what: str, why: str):
    """Skip loudly outside CI; fail under CI=true, where the install step must provide it."""
    message = f"{what} unavailable: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: .ci/run must install it)", pytrace=False)
    pytest.skip(message)


def app_config(url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "PANEL_SECRET": "test-panel-secret-of-32-characters",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTRUMENTS_DIR": str(ROOT / "instruments"),
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        "JOB_RESULTS_DIR": str(instance / "job-results"),
        # The default's file, but each test's own (counts never carry from test to test),
        # unless a test names a storage in the environment, as a deployment does.
        **({} if "SURVEYAPP_RATELIMIT_STORAGE_URI" in os.environ else
           {"RATELIMIT_STORAGE_URI": f"sqlite:///{instance / 'rate-limits.sqlite'}"}),
    }


def _prepare(app) -> None:
    """Migrate and load the shipped instruments."""
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()
        operations.transaction(lambda: operations.instruments.sync_instruments([app.config["INSTRUMENTS_DIR"]]))
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file with the instruments loaded; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    _prepare(create_app(app_config(f"sqlite:///{path}", folder)))
    return path


@pytest.fixture(scope="session")
def postgres_url():
    if not POSTGRES_URL:
        missing("PostgreSQL", "set SURVEYAPP_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(base)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    except sa.exc.OperationalError as error:
        missing("PostgreSQL", str(error).splitlines()[0])
    finally:
        engine.dispose()
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{PG_SCHEMA}"
    _prepare(create_app(app_config(url, Path("/tmp"))))
    yield url
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


def _reset_postgres(app) -> None:
    """Empty every table the models declare (a table added later cannot be forgotten),
    except the shipped instrument versions, which are loaded once per session."""
    with app.app_context():
        names = ", ".join(table.name for table in db.metadata.sorted_tables
                          if table.name != InstrumentVersion.__tablename__)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # Drop the versions a test added.
        shipped = {str(path) for path in (ROOT / "instruments").glob("*.yaml")}
        db.session.execute(sa.delete(InstrumentVersion).where(
            InstrumentVersion.source_path.not_in(shipped)))
        db.session.commit()


@contextmanager
def running_app(url: str, instance: Path):
    """An app on ``url`` whose engine is disposed afterwards."""
    application = create_app(app_config(url, instance))
    application.instance_path = str(instance)
    yield application
    # The process-wide job thread must not go on sweeping this app's database (which later
    # tests share on PostgreSQL) with this app's results folder.
    thread_backend.forget(application)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def sqlite_copy(template: Path, folder: Path) -> str:
    path = folder / "surveyapp.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@contextmanager
def serving(application):
    """``application`` served over real HTTP by a threaded werkzeug server on a free port."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def campaign_maker(application):
    """make(instrument_id='community-capacity', *, site, wave, project, **options) -> campaign
    code. The site is made in ``project`` (a name; the default project if None), and the
    wave added to the project's list if it is not there."""
    def make(instrument_id="community-capacity", *, site="Riverside", wave="baseline",
             project=None, **options):
        with application.app_context():
            def work():
                owner = None
                if project is not None:
                    owner = (operations.staff.project_by_name(project)
                             or operations.staff.create_project(project))
                site_row = operations.campaigns.get_or_create_site(site, project=owner)
                if wave not in site_row.project.waves:
                    operations.staff.set_waves(site_row.project, [*site_row.project.waves, wave])
                return operations.campaigns.create_campaign(instrument_id, site_row, wave, **options).code
            return operations.transaction(work)
    return make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request, tmp_path):
    """The app on a fresh database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url = sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
    with running_app(url, tmp_path) as application:
        if request.param == "postgres":
            _reset_postgres(application)
        yield application


@pytest.fixture
def sqlite_app(tmp_path, sqlite_template):
    """The app on SQLite only, for tests that do not touch the database engine's behaviour."""
    with running_app(sqlite_copy(sqlite_template, tmp_path), tmp_path) as application:
        yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_campaign(app):
    """Deploy an instrument: make_campaign('community-capacity', wave='baseline') -> code."""
    return campaign_maker(app)


@pytest.fixture
def load_test_instrument(app):
    """Load tests/data/<name>.yaml as an instrument version."""
    def load(name):
        with app.app_context():
            result = operations.transaction(
                lambda: operations.instruments.sync_instruments([ROOT / "tests" / "data" / f"{name}.yaml"]))
            assert not result.problems, result.problems
    return load


@pytest.fixture
def live_server(app):
    """The app served over real HTTP by a threaded werkzeug server on a free port."""
    with serving(app) as url:
        yield url


# From test_focus_groups.py, used by other modules too.
@pytest.fixture
def facilitator(app, client, load_test_instrument):
    load_test_instrument("mini-guide")
    with app.app_context():
        operations.transaction(lambda: operations.campaigns.get_or_create_site("Riverside"))
    make_user(app, "fac@example.org", "facilitator")
    assert login(client, "fac@example.org").status_code == 302
    return client


# From test_theme_review.py, used by other modules too.
@pytest.fixture
def project(app, make_campaign):
    """A project "Council" with a campaign (12 planted answers), a finalised session with
    segments, an analyst of it and an outsider analyst of another project."""
    code = make_campaign(project="Council", site="Alderbank")
    with app.app_context():
        def work():
            council = operations.staff.project_by_name("Council")
            council.min_cell_size = 1
            police = operations.staff.create_project("Police")
            operations.staff.create_user("analyst@example.org", "correct horse battery",
                                         ["analyst"], council)
            operations.staff.create_user("outsider@example.org", "correct horse battery",
                                         ["analyst", "facilitator"], police)
            guide = db.session.scalar(sa.select(InstrumentVersion).where(
                InstrumentVersion.kind == "focus_group"))
            site = operations.campaigns.site_named(council, "Alderbank")
            session = operations.focus_groups.create_focus_group(
                guide_version=guide, site=site, wave="baseline", held_on=dt.date(2026, 11, 2),
                place="Hall", language="en", facilitators=[], participants=[
                    operations.focus_groups.ParticipantInfo(label="P1", age_band="18-24",
                                                            role="youth"),
                    operations.focus_groups.ParticipantInfo(label="P2", age_band="65+")],
                consent_given=True)
            prompt_id = queries.instruments.instrument_of(guide).prompts[0].id
            lines = "\n".join(f"P{1 + n % 2}: {text}" for n, text in enumerate(LIGHTS + POLICE))
            operations.focus_groups.add_segments(
                session, prompt_id, parse_quick_entry(lines, ["P1", "P2"]).segments, uuid.uuid4())
            operations.focus_groups.finalise_focus_group(session)
            campaign = queries.campaigns.campaign_by_code(code)
            return {"project_id": council.id, "campaign_id": campaign.id, "code": code,
                    "session_id": session.id, "guide_id": guide.instrument_id,
                    "prompt_id": prompt_id}
        ids = operations.transaction(work)
    ids["responses"] = plant(app, app.test_client(), code, LIGHTS + POLICE)
    return ids


# From test_translation_sheet.py, used by other modules too.
@pytest.fixture
def instrument(tmp_path) -> Path:
    """A copy of programme-feedback.yaml in an instruments folder of its own."""
    folder = tmp_path / "instruments"
    folder.mkdir()
    return Path(shutil.copy(SHIPPED, folder / SHIPPED.name))


# From test_translation_sheet.py, used by other modules too.
@pytest.fixture
def cli(sqlite_app, instrument):
    sqlite_app.config["INSTRUMENTS_DIR"] = str(instrument.parent)
    runner = sqlite_app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))
