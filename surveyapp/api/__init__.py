"""JSON API, version 1. CSRF-exempt (no cookies are used); rate-limited per client."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from surveyapp.api import views  # noqa: E402,F401  (registers the routes)
