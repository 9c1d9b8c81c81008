"""Sessions are revocable, and forms posted after a login expired are held only for the user
whose login it was, in bounded number and size, for a bounded time."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import HeldForm, User
from tests.helpers import PASSWORD, hidden, login, make_user

NEW_PASSWORD = "a much newer secret"
NEW = "/staff/focus-groups/new"


def signed_in_client(app, email, *, remember=False):
    client = app.test_client()
    page = client.get("/login")
    reply = client.post("/login", data={"csrf_token": hidden(page.text, "csrf_token"), "email": email,
                                        "password": PASSWORD, **({"remember": "y"} if remember else {})})
    assert reply.status_code == 302
    return client


def signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def only_remember_cookie(app, client):
    """A fresh browser holding just ``client``'s remember-me cookie (the session is gone)."""
    fresh = app.test_client()
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    fresh.set_cookie("remember_token", cookie.value)
    return fresh


def test_changing_the_password_ends_every_other_session_and_remember_token(app):
    make_user(app, "f@example.org", "facilitator")
    laptop = signed_in_client(app, "f@example.org")
    phone = signed_in_client(app, "f@example.org", remember=True)
    remembered = only_remember_cookie(app, phone)
    assert signed_in(remembered)  # the remember-me cookie works on its own

    page = laptop.get("/account/password")
    reply = laptop.post("/account/password", data={
        "csrf_token": hidden(page.text, "csrf_token"), "current": PASSWORD,
        "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert reply.status_code == 302
    assert signed_in(laptop)  # the session that changed it continues
    assert not signed_in(phone)
    assert not signed_in(only_remember_cookie(app, phone))


def test_signing_out_ends_every_session_of_that_user(app):
    make_user(app, "f@example.org", "facilitator")
    make_user(app, "other@example.org", "analyst")
    laptop = signed_in_client(app, "f@example.org")
    phone = signed_in_client(app, "f@example.org", remember=True)
    colleague = signed_in_client(app, "other@example.org")
    home = laptop.get("/staff/")
    laptop.post("/logout", data={"csrf_token": hidden(home.text, "csrf_token")})
    assert not signed_in(laptop) and not signed_in(phone)
    assert not signed_in(only_remember_cookie(app, phone))
    assert signed_in(colleague)  # another user's session is untouched
    assert signed_in(signed_in_client(app, "f@example.org"))  # signing in again works


# ----------------------------------------------------------------------------- held forms

def held_rows(app):
    with app.app_context():
        return db.session.scalars(sa.select(HeldForm)).all()


def expire_login(app, email):
    """The user's login ends elsewhere (a password change on another device)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        operations.transaction(lambda: operations.auth.end_every_session(user))


def post_new_session(client, place):
    return client.post(NEW, data={"back": NEW, "place": place, "wave": "baseline"})


def test_anonymous_posts_to_staff_routes_hold_nothing(app):
    """Before: 30 x 900 KB from a browser that never signed in were kept for 7 days."""
    client = app.test_client()
    for _ in range(30):
        reply = post_new_session(client, "x" * 900_000)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    assert held_rows(app) == []


def test_a_form_posted_after_the_login_expired_comes_back_to_its_author_only(app):
    make_user(app, "f@example.org", "facilitator")
    make_user(app, "g@example.org", "facilitator")
    client = signed_in_client(app, "f@example.org")
    expire_login(app, "f@example.org")
    reply = post_new_session(client, "Community library")
    assert "/login" in reply.headers["Location"]
    assert len(held_rows(app)) == 1

    # Someone else signing in on this browser does not see it.
    login(client, "g@example.org", next_url=NEW)
    assert "Community library" not in client.get(NEW).text
    assert len(held_rows(app)) == 1
    client.post("/logout", data={"csrf_token": hidden(client.get("/staff/").text, "csrf_token")})

    assert login(client, "f@example.org", next_url=NEW).status_code == 302
    assert 'value="Community library"' in client.get(NEW).text
    assert held_rows(app) == []  # given back once, then gone


def test_held_forms_are_capped_per_user_in_size_and_overall_and_expire(app, monkeypatch):
    with app.app_context():
        alice = make_user(app, "a@example.org", "admin")
        bob = make_user(app, "b@example.org", "admin")
        hold = operations.auth.hold_form

        def held(user_id, text="x"):
            return operations.transaction(lambda: hold(user_id, NEW, {"place": [text]}))

        tokens = [held(alice) for _ in range(5)]
        mine = db.session.scalars(sa.select(HeldForm.token).where(HeldForm.user_id == alice)).all()
        assert len(mine) == operations.auth.HELD_PER_USER
        assert tokens[-1] in mine  # the newest are kept

        assert held(alice, "x" * (operations.auth.HELD_MAX_CHARS + 1)) is None

        monkeypatch.setattr(operations.auth, "HELD_OVERALL", operations.auth.HELD_PER_USER + 1)
        assert held(bob) is not None
        assert held(bob) is None  # every slot taken

        db.session.execute(sa.update(HeldForm).values(
            created_at=dt.datetime.now(dt.timezone.utc) - operations.auth.KEEP_FOR - dt.timedelta(minutes=1)))
        db.session.commit()
        assert held(bob) is not None  # the old ones expired and made room
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HeldForm)) == 1


def test_holding_forms_is_rate_limited(tmp_path, sqlite_template):
    from surveyapp import create_app
    from tests.conftest import app_config, sqlite_copy
    limited = create_app({**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path),
                          "RATELIMIT_ENABLED": True})
    make_user(limited, "f@example.org", "facilitator")
    client = signed_in_client(limited, "f@example.org")
    expire_login(limited, "f@example.org")
    statuses = [post_new_session(client, "Library").status_code for _ in range(21)]
    assert statuses[:20] == [302] * 20 and statuses[20] == 429


def test_a_browser_signed_in_by_its_remember_cookie_gets_its_form_held_too(app):
    make_user(app, "f@example.org", "facilitator")
    remembered = only_remember_cookie(app, signed_in_client(app, "f@example.org", remember=True))
    assert signed_in(remembered)
    expire_login(app, "f@example.org")
    post_new_session(remembered, "Community library")
    assert [row.path for row in held_rows(app)] == [NEW]


def test_an_overlong_back_path_holds_nothing_and_is_no_500(app):
    make_user(app, "f@example.org", "facilitator")
    client = signed_in_client(app, "f@example.org")
    expire_login(app, "f@example.org")
    reply = client.post(NEW, data={"back": "/" + "x" * 600, "place": "Library"})
    assert reply.status_code == 302 and held_rows(app) == []
