"""`surveyapp retention run`: contact details and held forms older than their configured
periods are deleted (the rest kept), the counts are audit-recorded, a bad setting is refused."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.domain.erasure import is_quote_of, retention_cutoff, without_quotes_of
from surveyapp.extensions import db
from surveyapp.models import AuditEvent, HeldForm, PrivateAnswers, Response, User, utcnow
from tests.helpers import payload

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("days, expected", [
    (None, None), ("", None), (0, NOW), (30, NOW - dt.timedelta(days=30)),
    ("7", NOW - dt.timedelta(days=7))])
def test_retention_cutoff(days, expected):
    assert retention_cutoff(NOW, days) == expected


@pytest.mark.parametrize("days, message", [(-1, "negative"), ("a week", "whole number"),
                                           (2.5, "whole number"), (True, "whole number")])
def test_a_bad_retention_setting_is_named(days, message):
    with pytest.raises(ValueError, match=message):
        retention_cutoff(NOW, days)


def test_quotes_taken_from_a_text_are_recognised_even_when_cut():
    text = "The street lights   are broken " + "and the street is dark at night " * 10
    assert is_quote_of("The street lights are broken and the street…", text)
    assert is_quote_of("the street lights are broken " + "and the street is dark at night " * 10, text)
    assert not is_quote_of("The street lights are fine", text)
    assert not is_quote_of("…", text)
    assert without_quotes_of(["keep me", "The street lights are broken and…"], [text]) == (["keep me"], 1)


def submit_with_contact(app, client, code, received_days_ago):
    body = payload(code, language="en")
    body["answers"].update({"follow_up_invite": "yes", "contact": f"{received_days_ago}@example.org"})
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    with app.app_context():
        def work():
            row = db.session.scalar(sa.select(Response).order_by(Response.id.desc()).limit(1))
            row.received_at = utcnow() - dt.timedelta(days=received_days_ago)
            return row.id
        return operations.transaction(work)


def hold(app, days_ago):
    with app.app_context():
        def work():
            user = db.session.scalar(sa.select(User)) or operations.staff.create_user(
                "fac@example.org", "correct horse battery", ["admin"])
            db.session.add(HeldForm(token=f"t{days_ago}", user_id=user.id, path="/staff/x",
                                    data={"text": ["typed"]},
                                    created_at=utcnow() - dt.timedelta(days=days_ago)))
        operations.transaction(work)


def test_retention_run_deletes_what_is_older_than_its_period(app, client, runner, make_campaign):
    code = make_campaign()
    old = submit_with_contact(app, client, code, 40)
    recent = submit_with_contact(app, client, code, 2)
    hold(app, 10)
    hold(app, 1)
    app.config.update(RETENTION_CONTACT_DAYS=30, RETENTION_HELD_DAYS=7)
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "contact details: 1 deleted" in result.output and "held forms: 1 deleted" in result.output
    with app.app_context():
        assert db.session.scalars(sa.select(PrivateAnswers.response_id)).all() == [recent]
        assert db.session.get(Response, old).answers  # the answers stay
        assert db.session.scalars(sa.select(HeldForm.token)).all() == ["t1"]
        [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "retention.run")).all()
        assert event.actor == "cli"
        assert event.details == {"contact_details": 1, "held_forms": 1, "contact_days": 30,
                                 "held_days": 7}
    again = runner.invoke(args=["retention", "run"])
    assert "contact details: 0 deleted" in again.output and "held forms: 0 deleted" in again.output


def test_retention_off_keeps_contact_details(app, client, runner, make_campaign):
    submit_with_contact(app, client, make_campaign(), 4000)
    app.config.update(RETENTION_CONTACT_DAYS=None)
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0 and "contact details: kept" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivateAnswers)) == 1


def test_a_bad_setting_is_refused_and_nothing_deleted(app, client, runner, make_campaign):
    submit_with_contact(app, client, make_campaign(), 40)
    app.config.update(RETENTION_CONTACT_DAYS="a month")
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 1 and "retention settings" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivateAnswers)) == 1
