"""`surveyapp backup` while respondents submit, then `surveyapp restore` into an empty
database: every response acknowledged before the snapshot is there with exactly the answers
sent, nothing is there that was not sent, no response is there in part; restore refuses a
database holding data unless --force."""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from surveyapp.extensions import db
from surveyapp.models import AuditEvent, Campaign, Response, ResponseScore
from tests.conftest import POSTGRES_URL, running_app, serving
from tests.helpers import payload

WRITERS = 4
BEFORE_SNAPSHOT = 30       # acknowledged submissions before the backup starts
AFTER_SNAPSHOT = 15        # and at least these after it, so the snapshot was taken under load


class Submitters:
    """Threads posting complete responses to the API until stopped, retrying a failed post
    with the same submission id; ``acked`` maps submission id -> (acknowledged at, answers)."""

    def __init__(self, url: str, code: str):
        self.url, self.code = url, code
        self.acked: dict[str, tuple[float, dict]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.work, args=(n,), daemon=True)
                        for n in range(WRITERS)]

    def work(self, number: int) -> None:
        seed = number * 100_000
        while not self.stop.is_set():
            seed += 1
            body = payload(self.code, seed=seed, language="en")
            data = json.dumps(body).encode()
            for _attempt in range(20):
                request = urllib.request.Request(self.url + "/api/v1/submissions", data=data,
                                                 headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as reply:
                        if reply.status in (200, 201):
                            with self.lock:
                                self.acked[body["submission_id"]] = (time.monotonic(), body["answers"])
                            break
                except Exception as error:  # a retry with the same id is safe
                    last = repr(error)
                    time.sleep(0.05)
            else:
                self.errors.append(last)
                return

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, total: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < total:
            assert time.monotonic() < deadline and not self.errors, self.errors
            time.sleep(0.02)


def stored_responses(application) -> dict[str, dict]:
    with application.app_context():
        rows = db.session.scalars(sa.select(Response)).all()
        stored = {str(row.submission_id): row.all_answers for row in rows}
        scored = db.session.scalar(sa.select(sa.func.count(sa.distinct(ResponseScore.response_id))))
        complete = sum(1 for row in rows if row.status == "complete")
        db.session.remove()
        return stored, scored, complete


@contextmanager
def empty_target(app, tmp_path):
    """A second, empty database of the same kind as ``app``'s (nothing migrated)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        (tmp_path / "restored").mkdir()
        with running_app(f"sqlite:///{tmp_path / 'restored' / 'surveyapp.db'}",
                         tmp_path / "restored") as target:
            yield target
        return
    name = f"surveyapp_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database=name)
    try:
        with running_app(url.render_as_string(hide_password=False), tmp_path) as target:
            yield target
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_taken_under_load_restores_every_acknowledged_response(app, runner, make_campaign,
                                                                       tmp_path):
    code = make_campaign()
    backup = tmp_path / "snapshot.bak"
    with serving(app) as url:
        load = Submitters(url, code)
        for thread in load.threads:
            thread.start()
        try:
            load.wait_for(BEFORE_SNAPSHOT)
            snapshot_started = time.monotonic()
            result = runner.invoke(args=["backup", str(backup)])
            assert result.exit_code == 0, result.output
            # Writers carried on during and after the snapshot.
            load.wait_for(load.count() + AFTER_SNAPSHOT)
        finally:
            load.stop.set()
            for thread in load.threads:
                thread.join(timeout=60)
    assert not load.errors, load.errors
    acknowledged_before = {sid for sid, (at, _) in load.acked.items() if at < snapshot_started}
    assert len(acknowledged_before) >= BEFORE_SNAPSHOT

    with empty_target(app, tmp_path) as target:
        restored = target.test_cli_runner().invoke(args=["restore", str(backup)])
        assert restored.exit_code == 0, restored.output
        stored, scored, complete = stored_responses(target)
        # Every response acknowledged before the snapshot is there, with the answers sent.
        assert acknowledged_before <= set(stored)
        # Nothing is there that was never acknowledged, and nothing differs from what was sent.
        assert set(stored) <= set(load.acked)
        for sid, answers in stored.items():
            assert answers == load.acked[sid][1], sid
        # Each response is there whole: complete, and scored in the same transaction.
        assert complete == len(stored) == scored
        assert len(stored) < len(load.acked)  # the snapshot was taken before the load ended
        with target.app_context():
            assert db.session.scalar(sa.select(Campaign.code)) == code
            actions = db.session.scalars(sa.select(AuditEvent.action)).all()
            # The backup's own event came after the snapshot; the restore is recorded.
            assert "database.backed_up" not in actions and actions[-1] == "database.restored"
            db.session.remove()
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.details).where(
            AuditEvent.action == "database.backed_up"))["bytes"] == backup.stat().st_size


def test_restore_refuses_a_database_holding_data_unless_forced(app, runner, make_campaign, tmp_path):
    code = make_campaign()
    backup = tmp_path / "snapshot.bak"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    make_campaign(site="Hillside")  # changed after the snapshot
    refused = runner.invoke(args=["restore", str(backup)])
    assert refused.exit_code == 1 and "holds data" in refused.output and "--force" in refused.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 2
        db.session.remove()
    forced = runner.invoke(args=["restore", str(backup), "--force"])
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert db.session.scalars(sa.select(Campaign.code)).all() == [code]


@pytest.mark.parametrize("content, message", [
    (b"", "neither a SQLite backup nor a pg_dump archive"),
    (b"hello, world\n" * 10, "neither a SQLite backup nor a pg_dump archive")])
def test_restore_refuses_a_file_that_is_no_backup(sqlite_app, tmp_path, content, message):
    path = tmp_path / "not-a-backup"
    path.write_bytes(content)
    result = sqlite_app.test_cli_runner().invoke(args=["restore", str(path), "--force"])
    assert result.exit_code == 1 and message in result.output


def test_backup_refuses_a_folder_or_a_missing_folder(sqlite_app, tmp_path):
    runner = sqlite_app.test_cli_runner()
    assert "is a directory" in runner.invoke(args=["backup", str(tmp_path)]).output
    result = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "x.bak")])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not list(Path(tmp_path).glob(".*.partial"))
