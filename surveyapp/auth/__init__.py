"""Signing in and out, one's own password, and keeping forms posted after a login expired."""
from flask import Blueprint, Flask, session
from flask_login import current_user, user_loaded_from_cookie

from surveyapp.extensions import csrf, db, login_manager

bp = Blueprint("auth", __name__)

from surveyapp.auth import views  # noqa: E402,F401  (registers the routes)


def init_app(app: Flask) -> None:
    # Flask-Login's own context processor loads the user on every render. On a respondent
    # page that ran its "strong" session protection against a session that never signed
    # in, which rewrote the session cookie (and cleared a remember cookie) on every page.
    # Templates get the lazy proxy instead: the user loads only where a template asks.
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})
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
