"""`surveyapp demo seed`: demo data for a first look."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from surveyapp import operations
from surveyapp.cli.common import CLI


demo_cli = AppGroup("demo", help="Demo data for a first look.")


@demo_cli.command("seed")
@click.option("--responses", default=24, show_default=True, help="Responses per campaign.")
def demo_seed(responses):
    """On a new database: an admin account, a campaign per instrument, synthetic responses."""
    result = operations.transaction(
        lambda: operations.demo.seed_demo(responses_per_campaign=responses, **CLI))
    login_file = Path(current_app.instance_path) / "demo-login.txt"
    if result.created:
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"{operations.demo.DEMO_ADMIN_EMAIL}\n{result.password}\n")
        login_file.chmod(0o600)
        for campaign in result.campaigns:
            click.echo(f"campaign /s/{campaign.code}: {campaign.instrument_id}, "
                       f"{campaign.site.name}, {campaign.wave}")
        click.echo(f"{result.responses} synthetic responses")
        for focus_group in result.focus_groups:
            click.echo(f"focus group /staff/focus-groups/{focus_group.id}: {focus_group.guide_id}, {focus_group.site.name}")
    else:
        click.echo("database already has accounts: demo data left as it is")
    if login_file.exists():
        email, password = login_file.read_text().split()[:2]
        click.echo("=" * 60)
        click.echo(f"  demo login: {email}  password: {password}")
        click.echo(f"  (kept in {login_file})")
        click.echo("=" * 60)
