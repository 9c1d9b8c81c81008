"""`surveyapp backup` and `surveyapp restore`."""
from __future__ import annotations


import click
from flask.cli import with_appcontext

from surveyapp import operations
from surveyapp.cli.common import audit_event


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path):
    """Write a consistent snapshot of the database to PATH while the app keeps serving
    (SQLite: the online backup API; PostgreSQL: pg_dump's custom format)."""
    try:
        snapshot = operations.backup.backup(path)
    except operations.backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    # Recorded after the snapshot (so not in it): a backup takes every answer off the server.
    operations.transaction(lambda: audit_event("database.backed_up", target_type="backup",
                                          details={"kind": snapshot.kind, "bytes": snapshot.bytes}))
    click.echo(f"wrote {snapshot.path} ({snapshot.kind}, {snapshot.bytes} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@with_appcontext
def restore_command(path, force):
    """Replace the database with the backup at PATH. Stop the app first. Refuses a
    database that holds data unless --force; then run `surveyapp db upgrade`."""
    try:
        kind = operations.backup.restore(path, force=force)
    except operations.backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    from sqlalchemy import inspect
    from surveyapp.extensions import db
    if "audit_events" in inspect(db.engine).get_table_names():
        operations.transaction(lambda: audit_event("database.restored", target_type="backup",
                                              details={"kind": kind, "forced": force}))
    else:  # a backup from before the audit log: `db upgrade` adds it
        click.echo("note: this backup predates the audit log; the restore is not recorded", err=True)
    click.echo(f"restored {path} ({kind}); now run `surveyapp db upgrade`")
