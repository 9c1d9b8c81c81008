"""Pooled PostgreSQL connections a server restart killed are replaced before a request uses
them, when they sat idle (extensions.init_connection_checks), and pinged only then; respondent
GETs read without a transaction, and nothing may write after one declares that."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from surveyapp import create_app
from surveyapp.extensions import db
from tests.conftest import app_config, campaign_maker, _reset_postgres




@pytest.fixture
def postgres_app(postgres_url, tmp_path):
    def make(**settings):
        application = create_app({**app_config(postgres_url, tmp_path), **settings})
        _reset_postgres(application)
        return application
    made = []
    yield lambda **settings: made.append(make(**settings)) or made[-1]
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _kill_pooled_connections(application) -> int:
    """Terminate, from outside, every server process of this app's pooled connections (as a
    database restart does); the pool does not notice."""
    with application.app_context():
        pids = []
        for _ in range(3):  # a few checkouts: more than one pooled connection
            pids.append(db.session.scalar(sa.text("SELECT pg_backend_pid()")))
            db.session.commit()
        db.session.remove()
    killer = sa.create_engine(application.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with killer.connect() as connection:
        killed = sum(bool(connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}))
                     for pid in set(pids))
    killer.dispose()
    return killed


@pytest.mark.postgres
def test_an_idle_connection_killed_by_a_restart_is_replaced_before_use(postgres_app):
    application = postgres_app(DB_PING_IDLE_SECONDS=0)
    code = campaign_maker(application)()
    assert _kill_pooled_connections(application) >= 1
    client = application.test_client()
    for _ in range(3):
        assert client.get(f"/s/{code}").status_code == 200


@pytest.mark.postgres
def test_without_the_check_a_killed_connection_fails_its_request(postgres_app):
    """What the check is for: a connection used within DB_PING_IDLE_SECONDS is not pinged,
    so one killed meanwhile fails the request that uses it (once: SQLAlchemy then drops
    the pool), where an idle one is replaced (the test above)."""
    application = postgres_app(DB_PING_IDLE_SECONDS=3600)
    application.config["PROPAGATE_EXCEPTIONS"] = False
    code = campaign_maker(application)()
    assert _kill_pooled_connections(application) >= 1
    client = application.test_client()
    assert client.get(f"/s/{code}").status_code == 500
    assert client.get(f"/s/{code}").status_code == 200


@pytest.mark.postgres
def test_a_busy_pool_is_not_pinged(postgres_app, monkeypatch):
    application = postgres_app()
    code = campaign_maker(application)()
    with application.app_context():
        dialect = db.engine.dialect
    pings = []
    original = type(dialect).do_ping
    monkeypatch.setattr(type(dialect), "do_ping", lambda self, connection: pings.append(1) or original(self, connection))
    client = application.test_client()
    for _ in range(5):
        assert client.get(f"/s/{code}").status_code == 200
    assert pings == []


@pytest.mark.parametrize("app", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_respondent_gets_read_without_a_transaction_and_posts_write_in_one(app, make_campaign):
    code = make_campaign()
    levels = []
    with app.app_context():
        sa.event.listen(db.engine, "begin", lambda connection: levels.append(
            connection.get_execution_options().get("isolation_level")))
    client = app.test_client()
    landing = client.get(f"/s/{code}")
    assert levels == ["AUTOCOMMIT"]
    levels.clear()
    from tests.helpers import hidden
    started = client.post(f"/s/{code}/start", data={"csrf_token": hidden(landing.text, "csrf_token"),
                                                    "submission_id": hidden(landing.text, "submission_id")})
    assert started.status_code == 302 and levels and "AUTOCOMMIT" not in levels


@pytest.mark.parametrize("app", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_write_after_declaring_a_read_only_request_is_refused(app):
    from surveyapp import operations
    with app.test_request_context("/"):
        operations.read_without_transaction()
        db.session.execute(sa.text("SELECT 1"))
        with pytest.raises(RuntimeError, match="reads without a transaction"):
            operations.transaction(lambda: None)


@pytest.mark.parametrize("app", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_survey_pages_select_only_the_response_columns_they_read(app, make_campaign):
    """Each column selected costs a loader and, on PostgreSQL, a psycopg Column on every page
    (5.6 against 4.7 ms a request): the page query leaves out what no page reads, and a
    whole page walk stays at one SELECT of the response per request."""
    code = make_campaign()
    statements = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *rest: statements.append(statement))
    from tests.helpers import hidden
    client = app.test_client()
    landing = client.get(f"/s/{code}")
    started = client.post(f"/s/{code}/start", data={"csrf_token": hidden(landing.text, "csrf_token"),
                                                    "submission_id": hidden(landing.text, "submission_id")})
    statements.clear()
    page = client.get(started.headers["Location"])
    assert page.status_code == 200
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM responses" in s]
    assert len(reads) == 1, statements
    selected = reads[0].split("FROM responses")[0]
    for column in ("submission_id", "payload_hash", "source", "started_at", "updated_at", "received_at"):
        assert f"responses.{column}" not in selected, column
    for column in ("answers", "status", "current_page", "resume_code", "language"):
        assert f"responses.{column}" in selected, column
