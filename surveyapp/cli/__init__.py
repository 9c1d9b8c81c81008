"""Commands: `surveyapp ...` (or `flask --app wsgi ...`). Each parses, calls, echoes.

    instruments   check, load, export-xlsform, import-xlsform, translations export|import
    demo          seed
    translate     extract, update, compile (the interface catalogs)
    projects      create, add-member, list;  users create, roles;  campaigns create
    scores        backfill, show [--paired]
    export        a campaign's or an instrument's responses to a workbook
    themes        find and store the themes of a question or a prompt
    worker        serve the Redis job queue
    delete        response, contact, session, campaign;  retention run
    backup, restore

Changes go through operations, which record their own audit events; commands act as
"cli" (common.CLI).
"""
from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from surveyapp.cli.backup import backup_command, restore_command
from surveyapp.cli.deletion import delete_cli, retention_cli
from surveyapp.cli.demo import demo_cli
from surveyapp.cli.export import export_command
from surveyapp.cli.instruments import instruments_cli
from surveyapp.cli.jobs import worker_command
from surveyapp.cli.projects import campaigns_cli, projects_cli, users_cli
from surveyapp.cli.scores import scores_cli
from surveyapp.cli.themes import themes_command
from surveyapp.cli.translate import translate_cli

COMMANDS = (instruments_cli, demo_cli, translate_cli, users_cli, campaigns_cli, projects_cli,
            scores_cli, export_command, themes_command, worker_command, delete_cli,
            retention_cli, backup_command, restore_command)


def main() -> None:
    """The `surveyapp` console script."""
    from surveyapp import create_app
    FlaskGroup(create_app=create_app, help="surveyapp administration.")()


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
