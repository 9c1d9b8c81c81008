"""`surveyapp projects|users|campaigns`: projects and their members, staff accounts,
campaigns."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from surveyapp import operations, queries
from surveyapp.cli.common import CLI, find_project


projects_cli = AppGroup("projects", help="Projects: who sees which sites, campaigns and focus groups.")


users_cli = AppGroup("users", help="Staff accounts.")


campaigns_cli = AppGroup("campaigns", help="Deploy questionnaires to sites and waves.")


@projects_cli.command("create")
@click.argument("name")
def projects_create(name):
    """Create a project (its waves: baseline, follow-up 1; change them on its page)."""
    try:
        project = operations.transaction(lambda: operations.staff.create_project(name, **CLI))
    except operations.staff.ProjectError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created project {project.name} (waves: {', '.join(project.waves)})")


@projects_cli.command("add-member")
@click.argument("project")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["facilitator", "analyst", "partner"]),
              help="Repeat for several. A partner reads aggregates only.")
def projects_add_member(project, email, roles):
    """Give the account EMAIL a role in PROJECT."""
    owner = find_project(project)
    user = queries.projects.user_by_email(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    def work():
        for role in roles:
            operations.staff.add_member(owner, user, role, **CLI)
    operations.transaction(work)
    click.echo(f"{user.email} is {' and '.join(sorted(roles))} in {owner.name}")


@projects_cli.command("list")
def projects_list():
    """Every project with its waves and members."""
    for project in queries.projects.projects():
        click.echo(f"{project.name}: waves {', '.join(project.waves)}")
        for user in queries.projects.staff_with_role("facilitator", "analyst", "partner",
                                                     project_id=project.id):
            roles = sorted(m.role for m in user.memberships if m.project_id == project.id)
            click.echo(f"  {user.email} ({', '.join(roles)})")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "facilitator", "analyst"]), help="Repeat for several.")
@click.option("--project", help="Where facilitator and analyst are held (default: the only project).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, roles, project, password_stdin):
    """Create an account; the password comes from a prompt (or stdin)."""
    owner = find_project(project) if set(roles) - {"admin"} else None
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise click.ClickException("the password needs at least 10 characters")
    if queries.projects.user_by_email(email):
        raise click.ClickException(f"an account for {email} exists already")
    user = operations.transaction(
        lambda: operations.staff.create_user(email, password, roles, owner, **CLI))
    where = f" in {user.memberships[0].project.name}" if user.memberships else ""
    click.echo(f"created {user.email} ({', '.join(sorted(user.role_set))}){where}")


@campaigns_cli.command("create")
@click.option("--project", help="The project the site belongs to (default: the only project).")
@click.option("--instrument", required=True, help="Instrument id, e.g. community-capacity.")
@click.option("--site", required=True, help="Site name (created in the project if new).")
@click.option("--wave", required=True, help="One of the project's waves, e.g. baseline.")
@click.option("--unlisted", is_flag=True, help="Leave it off the public list.")
@click.option("--opens", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--closes", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
def campaigns_create(project, instrument, site, wave, unlisted, opens, closes):
    """Deploy the current version of an instrument to a site and wave; print its link."""
    from datetime import timezone
    aware = lambda moment: moment.replace(tzinfo=timezone.utc) if moment else None  # noqa: E731
    owner = find_project(project)
    try:
        def work():
            where = operations.campaigns.get_or_create_site(site, project=owner, **CLI)
            return operations.campaigns.create_campaign(
                instrument, where, wave, unlisted=unlisted, opens_at=aware(opens),
                closes_at=aware(closes), **CLI)
        campaign = operations.transaction(work)
    except (LookupError, operations.campaigns.CampaignRefused) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"/s/{campaign.code}  {instrument} at {site}, {wave} ({campaign.project.name})")
