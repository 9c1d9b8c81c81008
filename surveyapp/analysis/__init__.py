"""Analysis: the themes pages under /staff/projects/<id>/themes (views.py): themes of
open answers and of focus-group talk, with the analyst's review. Server-rendered; every
form works without JavaScript. Their reads are queries.themes and queries.export, their
writes operations.themes; long runs are jobs."""
from flask import Blueprint

bp = Blueprint("analysis", __name__, url_prefix="/staff/projects/<int:project_id>/themes")

from surveyapp.analysis import views  # noqa: E402,F401  (registers the routes)
from surveyapp.analysis import coding  # noqa: E402,F401  (double coding, proposals: issue 24)
