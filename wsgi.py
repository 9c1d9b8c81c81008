"""Entry point for gunicorn and `flask --app wsgi`."""
from surveyapp import create_app

app = create_app()
