"""`surveyapp worker`: serve the Redis job queue."""
from __future__ import annotations


import click
from flask.cli import with_appcontext



@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@with_appcontext
def worker_command(burst):
    """Run background jobs from the Redis queue (SURVEYAPP_REDIS_URL must be set)."""
    from flask import current_app
    from surveyapp import jobs
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("SURVEYAPP_REDIS_URL is not set: jobs run inside the app.")
    jobs.work(current_app._get_current_object(), burst=burst)
