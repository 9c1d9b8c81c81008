"""Published results, back to residents: /r/<campaign code>/ and its printable one-pager.
Public (no login), server-rendered, no JavaScript. Prepared on the staff side
(surveyapp.staff.results) and written through surveyapp.operations.results."""
from flask import Blueprint

bp = Blueprint("results", __name__, url_prefix="/r")

from surveyapp.results import views  # noqa: E402,F401  (registers the routes)
