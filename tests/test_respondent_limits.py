"""Rate limits on respondent pages: a room full of people behind one address gets through,
one client hammering the start or flooding one response is stopped (real limiter, the
default per-worker storage, a fresh app with limits on)."""
from __future__ import annotations

import random
import shutil
import time
import uuid

import pytest
import sqlalchemy as sa

from surveyapp import create_app
from surveyapp.domain.answers import Context
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db, limiter
from surveyapp.limit_storage import WorkerMemoryStorage
from surveyapp.models import Response
from tests.conftest import app_config, campaign_maker
from tests.helpers import CAPACITY, hidden, location_path, page_id, post_page, start, to_form

ROOM = 64  # respondents on one community centre's wifi


@pytest.fixture
def limited(sqlite_template, tmp_path):
    """limited(**settings) -> an app on a copy of the database with rate limits enforced."""
    apps = []

    def make(**settings):
        shutil.copy(sqlite_template, tmp_path / "db.sqlite")
        application = create_app({**app_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path),
                                  "RATELIMIT_ENABLED": True, **settings})
        apps.append(application)
        return application

    yield make
    for application in apps:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def statuses(app):
    with app.app_context():
        return sorted(db.session.scalars(sa.select(Response.status)).all())


def test_a_room_of_respondents_behind_one_address_all_finish(limited):
    app = limited()
    code = campaign_maker(app)()
    context = Context("Riverside", "baseline", "en")
    room = []
    for seat in range(ROOM):
        client = app.test_client()  # its own cookies; every request comes from 127.0.0.1
        room.append([client, start(client, code), synthetic_answers(CAPACITY, random.Random(seat), context)])
    refused = []
    # Everybody answers page 1, then everybody page 2, ...: all of them within the same minute.
    for _ in range(len(CAPACITY.pages)):
        for seat in room:
            client, path, answers = seat
            if path.endswith("/done"):
                continue
            page = next(p for p in CAPACITY.pages if p.id == page_id(path))
            reply = post_page(client, path, to_form(page, answers))
            if reply.status_code != 302:
                refused.append(reply.status_code)
                continue
            seat[1] = location_path(reply)
    assert refused == []
    assert all(path.endswith("/done") for _, path, _ in room)
    assert all(client.get(path).status_code == 200 for client, path, _ in room)
    assert statuses(app) == ["complete"] * ROOM


def test_one_session_hammering_the_start_is_stopped(limited):
    app = limited()
    code = campaign_maker(app)()
    client = app.test_client()
    landing = client.get(f"/s/{code}")
    token = hidden(landing.text, "csrf_token")
    replies = [client.post(f"/s/{code}/start", data={
        "csrf_token": token, "submission_id": str(uuid.uuid4()), "language": "en"}).status_code
        for _ in range(12)]
    assert replies[:10] == [302] * 10 and replies[10:] == [429, 429]
    assert len(statuses(app)) == 10
    # Someone else at the same address can still start.
    assert start(app.test_client(), code).count("/") == 4


def test_many_sessions_from_one_address_starting_are_stopped_at_the_ceiling(limited):
    app = limited(START_PER_ADDRESS_RATE_LIMIT="5/minute")
    code = campaign_maker(app)()
    replies = []
    for _ in range(7):
        client = app.test_client()
        landing = client.get(f"/s/{code}")
        replies.append(client.post(f"/s/{code}/start", data={
            "csrf_token": hidden(landing.text, "csrf_token"),
            "submission_id": hidden(landing.text, "submission_id"), "language": "en"}).status_code)
    assert replies == [302] * 5 + [429, 429]
    assert len(statuses(app)) == 5


def test_one_response_flooding_is_stopped_alone(limited):
    app = limited()
    code = campaign_maker(app)()
    flooder, neighbour = app.test_client(), app.test_client()
    flooded, calm = start(flooder, code), start(neighbour, code)
    replies = [flooder.get(flooded).status_code for _ in range(241)]
    assert replies[:240] == [200] * 240 and replies[240] == 429
    assert neighbour.get(calm).status_code == 200  # same address, its own budget


def test_guessing_resume_codes_is_stopped_but_resuming_is_not_counted(limited):
    app = limited()
    code = campaign_maker(app)()
    real_codes = []
    for _ in range(40):  # forty real resumes from one address: none counts as a guess
        path = start(app.test_client(), code)
        real_codes.append(path.split("/")[3])
    assert all(app.test_client().get(f"/resume?code={c}").status_code == 302 for c in real_codes)
    guesses = [app.test_client().get(f"/resume?code=ZZZZ{n:04d}").status_code for n in range(31)]
    assert guesses[:30] == [404] * 30 and guesses[30] == 429
    # Guessing through page URLs counts the same.
    assert app.test_client().get(f"/s/{code}/ZZZZZZZZ/about_you").status_code == 429


def test_worker_memory_counts_without_starting_a_thread_per_hit(limited):
    """memory:// restarts a 10 ms threading.Timer on nearly every hit; worker-memory:// never does."""
    app = limited(RESPONSE_RATE_LIMIT="5/minute", RATELIMIT_STORAGE_URI="worker-memory://")
    code = campaign_maker(app)()
    client = app.test_client()
    path = start(client, code)
    storage = limiter.storage
    assert isinstance(storage, WorkerMemoryStorage)
    timer = storage.timer  # the one MemoryStorage starts when it is built
    time.sleep(0.05)  # let that first timer finish: a finished timer is what makes memory:// start another
    codes = [client.get(path).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2  # still counted, per response
    assert storage.timer is timer


def test_worker_memory_still_prunes_expired_counters():
    storage = WorkerMemoryStorage()
    storage.SWEEP_SECONDS = 0.0  # sweep on every hit
    storage.incr("old", expiry=0.01)
    storage.acquire_entry("old-moving", limit=5, expiry=0.01)
    time.sleep(0.05)
    storage.incr("new", expiry=60)
    assert "old" not in storage.storage and not storage.events["old-moving"]  # as memory:// leaves it
    assert storage.get("new") == 1
