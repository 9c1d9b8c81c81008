"""Signing in and out, one's own password, and keeping forms posted after a login expired."""
from flask import Blueprint, Flask

from surveyapp.extensions import csrf, db, login_manager

bp = Blueprint("auth", __name__)

from surveyapp.auth import views  # noqa: E402,F401  (registers the routes)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_message = None  # the login page says what it is for
    app.register_blueprint(bp)
    csrf.exempt(bp)  # its FlaskForms check their own token and keep what was typed


@login_manager.user_loader
def _load_user(user_id: str):
    from surveyapp.models import User
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
