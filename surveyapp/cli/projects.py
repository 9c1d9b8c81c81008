"""`surveyapp projects|users|campaigns`: projects and their members, staff accounts (and
their roles), campaigns."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from surveyapp import operations, queries
from surveyapp.cli.common import CLI, find_project
from surveyapp.models import PROJECT_ROLES

ROLES = ("admin", *PROJECT_ROLES)  # admin is global; the others are held in a project


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
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Repeat for several. A partner reads aggregates only.")
@click.option("--project", help="Where facilitator, analyst and partner are held "
                                "(default: the only project).")
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


@users_cli.command("roles")
@click.argument("email")
@click.option("--add", "added", multiple=True, type=click.Choice(ROLES), help="Repeat for several.")
@click.option("--remove", "removed", multiple=True, type=click.Choice(ROLES),
              help="Repeat for several.")
@click.option("--project", help="Where a facilitator, analyst or partner role is given or taken "
                                "(default: the only project).")
def users_roles(email, added, removed, project):
    """Show the roles of the account EMAIL, after adding and removing those given.

    admin is global; facilitator, analyst and partner are held in a project. Each change
    is recorded in the audit log; one that changes nothing (a role held already, or not
    held) is said and not recorded."""
    user = queries.projects.user_by_email(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    if set(added) & set(removed):
        raise click.ClickException("a role cannot be both added and removed")
    owner = find_project(project) if (set(added) | set(removed)) - {"admin"} else None
    if owner is None and (set(added) | set(removed)) - {"admin"}:
        raise click.ClickException("there is no project yet: see `surveyapp projects create`")

    def work():
        said = []
        for role in added:
            changed = (operations.staff.set_admin(user, True, **CLI) if role == "admin"
                       else operations.staff.add_member(owner, user, role, **CLI))
            said.append(_change_line("added", role, owner, changed))
        for role in removed:
            changed = (operations.staff.set_admin(user, False, **CLI) if role == "admin"
                       else operations.staff.remove_member(owner, user, role, **CLI))
            said.append(_change_line("removed", role, owner, changed))
        return said

    try:
        lines = operations.transaction(work)
    except operations.staff.ProjectError as error:
        raise click.ClickException(f"{error}; nothing was changed") from None
    for line in lines:
        click.echo(line)
    click.echo(f"{user.email}: {_roles_text(user)}")


def _change_line(done: str, role: str, project, changed: bool) -> str:
    where = f" in {project.name}" if role != "admin" else ""
    if changed:
        return f"{done} {role}{where}"
    return f"unchanged: {role}{where} was {'held already' if done == 'added' else 'not held'}"


def _roles_text(user) -> str:
    """"admin; analyst in Council; partner in Police", or "no role"."""
    parts = ["admin"] if user.is_admin else []
    parts += [f"{m.role} in {m.project.name}"
              for m in sorted(user.memberships, key=lambda m: (m.project.name, m.role))]
    return "; ".join(parts) or "no role"


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
