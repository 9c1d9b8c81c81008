"""Signing in and out, one's own password, and keeping forms posted after a login expired."""
from flask import Blueprint, Flask, session
from flask_login import user_loaded_from_cookie

from surveyapp.extensions import csrf, db, login_manager

bp = Blueprint("auth", __name__)

from surveyapp.auth import views  # noqa: E402,F401  (registers the routes)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    user_loaded_from_cookie.connect(_remember_signed_in, app)
    login_manager.login_message = None  # the login page says what it is for
    app.register_blueprint(bp)
    csrf.exempt(bp)  # its FlaskForms check their own token and keep what was typed


def _remember_signed_in(_app, user) -> None:
    """Signed in by a remember-me cookie: a form posted after it expires is held too."""
    from surveyapp.auth.held import SIGNED_IN_AS
    session[SIGNED_IN_AS] = user.id


@login_manager.user_loader
def _load_user(user_id: str):
    """The user a session or remember-me cookie names, if its epoch is still the user's."""
    from surveyapp.models import User
    from surveyapp.urls import MAX_ID
    number, _, epoch = user_id.partition(":")
    if not (number.isdigit() and epoch.isdigit()) or int(number) > MAX_ID:
        return None  # a cookie from before sessions were revocable, or a forged one
    user = db.session.get(User, int(number))
    return user if user is not None and str(user.session_epoch) == epoch else None
