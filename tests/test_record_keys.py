"""Disclosure control's stored record keys: migration 0014 backfills existing rows with
random keys, and every new response and segment gets one (domain.disclosure). SQLite, and
PostgreSQL when its URL is set (the app fixture)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from surveyapp.domain.disclosure import KEY_RANGE
from surveyapp.extensions import db
from surveyapp.models import Response, Segment
from tests.helpers import submit


def keys(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Response.record_key).order_by(Response.id)))


def test_new_responses_get_random_keys_in_range(app, make_campaign):
    code = make_campaign(site="North", project="Council")
    submit(app, code, 40, seed=2, tendency=0.5)      # the one insert path (_insert_response)
    found = keys(app)
    assert len(found) == 40 and all(0 <= key < KEY_RANGE for key in found)
    assert len(set(found)) == 40                     # 2**31 values: a clash is ~1 in 3 million


def test_the_migration_backfills_existing_rows_with_random_keys(app, make_campaign):
    code = make_campaign(site="North", project="Council")
    submit(app, code, 30, seed=3, tendency=0.5)
    before = keys(app)
    with app.app_context():
        downgrade(revision="0013_theme_codebook")
        db.session.remove()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("responses")}
        assert "record_key" not in columns
        upgrade()
        db.session.remove()
    after = keys(app)
    assert len(after) == 30 and all(0 <= key < KEY_RANGE for key in after)
    assert len(set(after)) >= 29 and after != before  # drawn afresh, by the database
    with app.app_context():
        column = next(c for c in sa.inspect(db.engine).get_columns("responses")
                      if c["name"] == "record_key")
        assert column["nullable"] is False


def test_segments_draw_their_key_in_python_for_every_insert():
    """Segments are inserted with Core statements (one row, or executemany of a paste):
    the column's Python default gives each row its own key."""
    default = Segment.__table__.c.record_key.default
    assert default is not None and default.is_callable
    assert Response.__table__.c.record_key.default.is_callable
