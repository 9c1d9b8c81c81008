"""Commands: `surveyapp ...` (or `flask --app wsgi ...`). Each parses, calls, echoes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from surveyapp import operations
from surveyapp.config import PROJECT_ROOT
from surveyapp.domain.instruments import check_paths

instruments_cli = AppGroup("instruments", help="Check and load YAML instruments.")
demo_cli = AppGroup("demo", help="Demo data for a first look.")
translate_cli = AppGroup("translate", help="Interface catalogs (pybabel).")


def main() -> None:
    """The `surveyapp` console script."""
    from surveyapp import create_app
    FlaskGroup(create_app=create_app, help="surveyapp administration.")()


def init_app(app: Flask) -> None:
    for group in (instruments_cli, demo_cli, translate_cli, users_cli, campaigns_cli):
        app.cli.add_command(group)


# ----------------------------------------------------------------------------- instruments

@instruments_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def instruments_check(paths):
    """Print every problem as path:line:col: message; exit 1 if there is any."""
    paths = paths or [current_app.config["INSTRUMENTS_DIR"]]
    instruments, problems = check_paths(paths)
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(instruments)} instrument(s) OK, {len(problems)} problem(s)", err=True)
    sys.exit(1 if problems else 0)


@instruments_cli.command("load")
@click.argument("paths", nargs=-1, type=click.Path())
def instruments_load(paths):
    """Record new versions of the instruments under PATHS (default: the instruments folder)."""
    paths = paths or [current_app.config["INSTRUMENTS_DIR"]]
    result = operations.transaction(lambda: operations.sync_instruments(paths))
    for instrument in result.added:
        click.echo(f"loaded {instrument.id} {instrument.version} ({instrument.content_hash[:12]})")
    for instrument in result.unchanged:
        click.echo(f"unchanged {instrument.id} {instrument.version}")
    for problem in result.problems:
        click.echo(str(problem), err=True)
    sys.exit(1 if result.problems else 0)


# ----------------------------------------------------------------------------- demo

@demo_cli.command("seed")
@click.option("--responses", default=24, show_default=True, help="Responses per campaign.")
def demo_seed(responses):
    """On a new database: an admin account, a campaign per instrument, synthetic responses."""
    result = operations.transaction(lambda: operations.seed_demo(responses_per_campaign=responses))
    login_file = Path(current_app.instance_path) / "demo-login.txt"
    if result.created:
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"{operations.DEMO_ADMIN_EMAIL}\n{result.password}\n")
        login_file.chmod(0o600)
        for campaign in result.campaigns:
            click.echo(f"campaign /s/{campaign.code}: {campaign.instrument_id}, "
                       f"{campaign.site.name}, {campaign.wave}")
        click.echo(f"{result.responses} synthetic responses")
        for session in result.sessions:
            click.echo(f"focus group /staff/focus-groups/{session.id}: {session.guide_id}, {session.site.name}")
    else:
        click.echo("database already has accounts: demo data left as it is")
    if login_file.exists():
        email, password = login_file.read_text().split()[:2]
        click.echo("=" * 60)
        click.echo(f"  demo login: {email}  password: {password}")
        click.echo(f"  (kept in {login_file})")
        click.echo("=" * 60)


# ----------------------------------------------------------------------------- translations

def _pybabel(*args: str) -> None:
    # Run from the project root so that source references in the catalogs are relative.
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), *args], check=True,
                   cwd=PROJECT_ROOT)


TRANSLATIONS = PROJECT_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"


@translate_cli.command("extract")
def translate_extract():
    """Collect interface strings into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--sort-by-file", "--project", "surveyapp",
             "-o", str(POT.relative_to(PROJECT_ROOT)), "surveyapp")


@translate_cli.command("update")
def translate_update():
    """Merge messages.pot into every catalog."""
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")


@translate_cli.command("compile")
def translate_compile():
    """Compile every catalog to .mo (refuses catalogs with errors)."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


# ----------------------------------------------------------------------------- users, campaigns

users_cli = AppGroup("users", help="Staff accounts.")
campaigns_cli = AppGroup("campaigns", help="Deploy questionnaires to sites and waves.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "facilitator", "analyst"]), help="Repeat for several.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, roles, password_stdin):
    """Create an account; the password comes from a prompt (or stdin)."""
    from surveyapp import queries
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise click.ClickException("the password needs at least 10 characters")
    if queries.user_by_email(email):
        raise click.ClickException(f"an account for {email} exists already")
    user = operations.transaction(lambda: operations.create_user(email, password, roles))
    click.echo(f"created {user.email} ({', '.join(sorted(user.role_set))})")


@campaigns_cli.command("create")
@click.option("--instrument", required=True, help="Instrument id, e.g. community-capacity.")
@click.option("--site", required=True, help="Site name (created if new).")
@click.option("--wave", required=True, help="baseline, follow-up, or another label.")
@click.option("--pin", is_flag=True, help="Keep the current version even when the file changes.")
@click.option("--unlisted", is_flag=True, help="Leave it off the public list.")
@click.option("--opens", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--closes", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
def campaigns_create(instrument, site, wave, pin, unlisted, opens, closes):
    """Deploy an instrument to a site and wave; print its link."""
    from datetime import timezone
    aware = lambda moment: moment.replace(tzinfo=timezone.utc) if moment else None  # noqa: E731
    try:
        campaign = operations.transaction(lambda: operations.create_campaign(
            instrument, operations.get_or_create_site(site), wave, pin_version=pin,
            unlisted=unlisted, opens_at=aware(opens), closes_at=aware(closes)))
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"/s/{campaign.code}  {instrument} at {site}, {wave}")
