"""`surveyapp delete ...` and `surveyapp retention run`: delete what a person asked to be
deleted, and what has outlived its retention period."""
from __future__ import annotations


import click
from flask import current_app
from flask.cli import AppGroup

from surveyapp import operations, queries
from surveyapp.cli.common import CLI


delete_cli = AppGroup("delete", help="Delete a response, contact details, a session or a campaign.")


retention_cli = AppGroup("retention", help="Delete what has outlived its retention period.")


_yes = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


def _confirm(yes: bool, what: str) -> None:
    if not yes:
        click.confirm(f"Delete {what}? This cannot be undone.", abort=True)


def _echo_counts(counts: dict) -> None:
    click.echo(", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in counts.items()
                         if n is not None))


def _response(response_id: int):
    from surveyapp.extensions import db
    from surveyapp.models import Response
    row = db.session.get(Response, response_id)
    if row is None:
        raise click.ClickException(f"no response {response_id}")
    return row


@delete_cli.command("response")
@click.argument("response_id", type=int)
@_yes
def delete_response(response_id, yes):
    """Delete response RESPONSE_ID with its contact details, drafts, scores and themes' quotes."""
    row = _response(response_id)
    _confirm(yes, f"response {row.id} of campaign {row.campaign.code}")
    _echo_counts(operations.transaction(lambda: operations.deletion.delete_response(row, **CLI)))


@delete_cli.command("contact")
@click.argument("response_id", type=int)
@_yes
def delete_contact(response_id, yes):
    """Delete the contact details (pii answers) of response RESPONSE_ID; keep its answers."""
    row = _response(response_id)
    _confirm(yes, f"the contact details of response {row.id}")
    _echo_counts(operations.transaction(
        lambda: operations.deletion.delete_contact_details(row, **CLI)))


@delete_cli.command("session")
@click.argument("session_id", type=int)
@_yes
def delete_session(session_id, yes):
    """Delete focus-group session SESSION_ID with its roster, transcript and notes."""
    from surveyapp.extensions import db
    from surveyapp.models import FocusGroup
    focus_group = db.session.get(FocusGroup, session_id)
    if focus_group is None:
        raise click.ClickException(f"no focus-group session {session_id}")
    _confirm(yes, f"focus-group session {focus_group.id} ({focus_group.guide_id}, {focus_group.site.name})")
    _echo_counts(operations.transaction(
        lambda: operations.deletion.delete_focus_group(focus_group, **CLI)))


@delete_cli.command("campaign")
@click.argument("code")
@_yes
def delete_campaign(code, yes):
    """Delete the campaign CODE with every response to it."""
    campaign = queries.campaigns.campaign_by_code(code)
    if campaign is None:
        raise click.ClickException(f"no campaign with code {code!r}")
    counts = queries.campaigns.response_counts(campaign.id)
    _confirm(yes, f"campaign {campaign.code} and its {counts['complete'] + counts['partial']} responses")
    _echo_counts(operations.transaction(
        lambda: operations.deletion.delete_campaign(campaign, **CLI)))


@retention_cli.command("run")
def retention_run():
    """Delete contact details older than RETENTION_CONTACT_DAYS and held forms older than
    RETENTION_HELD_DAYS (each off when unset); print and audit-record the counts."""
    config = current_app.config
    try:
        counts = operations.transaction(lambda: operations.deletion.run_retention(config, **CLI))
    except ValueError as error:
        raise click.ClickException(f"retention settings: {error}") from None
    for name, count in counts.items():
        click.echo(f"{name.replace('_', ' ')}: " + ("kept (no retention period set)"
                                                    if count is None else f"{count} deleted"))
