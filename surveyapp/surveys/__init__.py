"""The respondent's side: campaign list, consent, pages, resume, thank-you."""
from flask import Blueprint

bp = Blueprint("surveys", __name__)

from surveyapp.surveys import views  # noqa: E402,F401  (registers the routes)
