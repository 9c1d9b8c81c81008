"""Crashes lose and double nothing: gunicorn on SQLite and on PostgreSQL (a database of its
own on the shared server) serves concurrent respondents, half API and half HTML, while its
workers and then its master are killed with SIGKILL and the master restarted. Every response
a client was told is stored is there exactly once, complete, with all its answers."""
from __future__ import annotations

import pytest

from tests.conftest import POSTGRES_URL, _prepare, app_config, campaign_maker, missing, running_app, sqlite_copy
from tests.crashing import crash_run
from tests.processes import postgres_database

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """A migrated database with the instruments loaded, only for this test."""
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    if not POSTGRES_URL:
        missing("PostgreSQL", "set SURVEYAPP_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    with postgres_database(POSTGRES_URL) as url:
        from surveyapp import create_app
        _prepare(create_app(app_config(url, tmp_path)))
        yield url


def test_killed_workers_and_master_lose_and_double_nothing(database, tmp_path):
    with running_app(database, tmp_path) as app:
        code = campaign_maker(app)(site="Riverside", wave="baseline")
    run = crash_run(database, code, tmp_path, respondents=10, concurrency=5, workers=3, worker_kills=3)
    report = run.reconciliation
    details = f"{report.table()}\nrefused: {report.refused}\nevents: {run.events}"
    print(details)  # the reconciliation, for -s and the CI log
    assert report.ok, details
    assert report.stored_once_complete == 10, details
    # The master died with respondents mid-flow, so some of them had to retry.
    assert report.retries > 0, details
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log.replace("WORKER TIMEOUT", ""), log[-5000:]
