"""Staff pages under /staff: campaigns, sites, accounts. Every route declares its roles.

Forms here are FlaskForms, which check their own CSRF token: a form whose token
expired comes back with what was typed and a fresh token, instead of an error page.
"""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from surveyapp.staff import views  # noqa: E402,F401  (registers the routes)
from surveyapp.staff import capacity  # noqa: E402,F401
from surveyapp.staff import dashboard  # noqa: E402,F401
from surveyapp.staff import results  # noqa: E402,F401
