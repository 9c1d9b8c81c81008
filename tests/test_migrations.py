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
