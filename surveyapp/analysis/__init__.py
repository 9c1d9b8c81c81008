"""Analysis pages under /staff/projects/<id>/themes: themes of open answers and of
focus-group talk, with the analyst's review. Server-rendered; every form works
without JavaScript. Runs are inline until the job layer lands."""
from flask import Blueprint

bp = Blueprint("analysis", __name__, url_prefix="/staff/projects/<int:project_id>/themes")

from surveyapp.analysis import views  # noqa: E402,F401  (registers the routes)
