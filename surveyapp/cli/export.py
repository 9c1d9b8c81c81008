"""`surveyapp export`: a campaign's or an instrument's responses to a workbook."""
from __future__ import annotations

import sys
from dataclasses import replace

import click
from flask.cli import with_appcontext

from surveyapp import operations
from surveyapp.cli.common import audit_event, find_project


@click.command("export")
@click.argument("reference")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The .xlsx file to write (a .zip of CSV files with --csv).")
@click.option("--project", help="Only this project's campaigns (by name).")
@click.option("--site", help="Only this site's campaigns (by name).")
@click.option("--wave", help="Only this wave.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Answered on or after YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Answered on or before YYYY-MM-DD.")
@click.option("--status", type=click.Choice(["complete", "partial", "all"]), default="complete",
              show_default=True)
@click.option("--lang", "language", help="Label language (default: the instrument's).")
@click.option("--codes", is_flag=True, help="Stored codes instead of labels.")
@click.option("--csv", "as_csv", is_flag=True, help="A zip with one UTF-8 CSV per sheet.")
@click.option("--pii", "include_pii", is_flag=True,
              help="Include answers to pii questions (contact details). Handle with care.")
@click.option("--aggregates-only", is_flag=True,
              help="What a partner may read: About, Summary (small cells suppressed), "
                   "Capacity and Themes without quotes; no response, transcript or quote.")
@with_appcontext
def export_command(reference, output, project, site, wave, since, until, status, language,
                   codes, as_csv, include_pii, aggregates_only):
    """Export a campaign (by code) or an instrument (by id) to an Excel workbook."""
    from surveyapp.queries import export
    from surveyapp.queries.projects import all_sites
    owner = find_project(project) if project else None
    options = dict(wave=wave, status=status, language=language, codes=codes,
                   include_pii=include_pii, aggregates_only=aggregates_only, since=since.date() if since else None,
                   until=until.date() if until else None)
    try:
        filters = export.filters_for(reference, **options)
        if owner is not None:
            filters = replace(filters, project_id=owner.id)
        if site:
            matches = [s for s in all_sites({filters.project_id} if filters.project_id else None)
                       if s.name.casefold() == site.strip().casefold()]
            if len(matches) != 1:
                raise export.ExportError(f"no site named {site!r}" if not matches else
                                         f"{len(matches)} sites are named {site!r}: name one with --project")
            filters = replace(filters, site_id=matches[0].id)
        total = export.count_responses(filters)
        with click.progressbar(length=total, label="responses", file=sys.stderr) as bar:
            result = export.write_export(filters, output, csv=as_csv, progress=bar.update)
        operations.transaction(lambda: audit_event(
            "export.written", project_id=filters.project_id, target_type="export",
            target_id=reference, details={"format": "csv" if as_csv else "xlsx",
                                          "status": status, "pii": include_pii,
                                          "aggregates_only": aggregates_only,
                                          "responses": total}))
    except export.ExportError as error:
        raise click.ClickException(str(error)) from None
    counts = ", ".join(f"{title}: {n}" for title, n in result.rows.items())
    click.echo(f"wrote {output} ({counts})")
