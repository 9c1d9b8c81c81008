"""What the commands share: who they act as in the audit log, and a project by name."""
from __future__ import annotations


import click

from surveyapp import operations, queries


# Who a command acts as, for the operations that record an audit event (the CLI has no
# --as user, and no client address).
CLI = {"actor": operations.audit.ACTOR_CLI, "ip": None}


def audit_event(action: str, **fields) -> None:
    """An audit event for what a command does outside any operation (an export, a backup)."""
    operations.audit.record(action, **CLI, **fields)


def find_project(name: str | None):
    """The project named ``name``; without a name, the only project there is (the default
    project is made on a new server). Several projects and no name is an error."""
    if name is not None:
        project = operations.staff.project_by_name(name)
        if project is None:
            raise click.ClickException(f"no project named '{name}'; "
                                       f"see `surveyapp projects create`")
        return project
    projects = queries.projects.projects()
    if len(projects) > 1:
        raise click.ClickException("there are several projects: name one with --project")
    return projects[0] if projects else None
