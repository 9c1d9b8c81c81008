"""The audit log: one event per change a person makes, in that change's transaction,
never changed afterwards (the database refuses it), readable and exportable by admins."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from surveyapp import operations
from surveyapp.extensions import db
from surveyapp.models import AuditEvent
from surveyapp.operations import audit


def events(app, prefix=""):
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                  .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_record_commits_with_the_change(app):
    with app.app_context():
        operations.transaction(lambda: audit.record(
            "test.done", actor="cli", project_id=7, target_type="thing", target_id=42,
            details={"count": 3}, ip="203.0.113.9"))
    [event] = events(app, "test.")
    assert (event.actor, event.actor_user_id, event.project_id, event.target_type,
            event.target_id, event.details) == ("cli", None, 7, "thing", "42", {"count": 3})
    assert event.ip_hash and "203.0.113.9" not in event.ip_hash and len(event.ip_hash) == 32
    assert event.at is not None


def test_a_rolled_back_change_leaves_no_event(app):
    def work():
        audit.record("test.failed", actor="cli")
        raise ValueError("refused")
    with app.app_context(), pytest.raises(ValueError):
        operations.transaction(work)
    assert events(app, "test.") == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET actor = 'someone else'",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_or_delete_an_event(app, statement):
    with app.app_context():
        operations.transaction(lambda: audit.record("test.kept", actor="cli"))
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement))
            db.session.flush()
        db.session.rollback()
    [event] = events(app, "test.")
    assert event.actor == "cli"
