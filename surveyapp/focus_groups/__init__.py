"""Focus groups: sessions with a guide, a pseudonymous roster, and transcripts per prompt.

Every segment is saved as it is entered and the pages work without JavaScript;
survey.js adds a draft autosave. Forms check their own CSRF token, so an expired
token brings the text back in a fresh form, and a post after the login expired is
held until the facilitator signs back in (see surveyapp.auth.held).
"""
from flask import Blueprint

bp = Blueprint("focus_groups", __name__, url_prefix="/staff/focus-groups")

from surveyapp.focus_groups import views  # noqa: E402,F401  (registers the routes)
