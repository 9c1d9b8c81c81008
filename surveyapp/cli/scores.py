"""`surveyapp scores backfill | show`: capacity-domain scores of complete responses, and
the change from baseline with the statistics the dashboard and the workbook give."""
from __future__ import annotations


import click
from flask.cli import AppGroup

from surveyapp import operations, queries
from surveyapp.cli.common import find_project
from surveyapp.domain.instruments import localise
from surveyapp.domain.labels import format_fixed, format_range, format_signed


scores_cli = AppGroup("scores", help="Capacity-domain scores of complete responses.")


@scores_cli.command("backfill")
@click.option("--campaign", "code", help="Only this campaign's responses (its code).")
@click.option("--batch-size", default=500, show_default=True, help="Responses per commit.")
def scores_backfill(code, batch_size):
    """Score the complete responses that have no scores yet (those completed before scores
    were stored), on the instrument version each was answered on. Safe to rerun: responses
    already scored are left as they are."""
    campaign_id = None
    if code:
        campaign = queries.campaigns.campaign_by_code(code) or None
        if campaign is None:
            raise click.ClickException(f"no campaign with code {code!r}")
        campaign_id = campaign.id
    total = operations.scores.count_unscored(campaign_id)
    scored, after_id = 0, 0
    with click.progressbar(length=total, label="scoring responses") as bar:
        while True:
            batch = operations.transaction(lambda: operations.scores.backfill_batch(
                after_id=after_id, campaign_id=campaign_id, batch_size=batch_size))
            if not batch.seen:
                break
            scored, after_id = scored + batch.seen, batch.last_id
            bar.update(batch.seen)
    click.echo(f"{scored} responses scored")


@scores_cli.command("show")
@click.option("--project", "project_name", help="The project's name (needed when there are several).")
@click.option("--instrument", "instrument_id", help="A scored questionnaire (default: the first).")
@click.option("--paired", is_flag=True, help="Also the change of the residents who linked "
                                               "their answers with a panel code, and attrition.")
def scores_show(project_name, instrument_id, paired):
    """Each domain's change from the baseline to each follow-up, by site and for all sites
    (the sites measured in both waves): the change and its 95% CI, Hedges' g and the
    Benjamini-Hochberg q across the table. Exact figures: for analysts, not to publish."""
    project = find_project(project_name)
    if project is None:
        raise click.ClickException("no project yet")
    scored = queries.scores.scored_instruments(project.id)
    if instrument_id is None:
        # The first questionnaire measured in two waves or more (a change to show), else the first.
        tables = {i: queries.scores.capacity_table(project, i) for i in scored}
        instrument_id = next((i for i in scored if len(tables[i][0].waves) > 1),
                             scored[0] if scored else None)
    if instrument_id not in scored:
        raise click.ClickException(f"no scores for {instrument_id!r} in {project.name}; "
                                   f"scored: {', '.join(scored) or 'none'}")
    table, instrument = queries.scores.capacity_table(project, instrument_id)
    if len(table.waves) < 2:
        click.echo(f"{project.name} · {instrument_id}: only {', '.join(table.waves)} so far; "
                   f"no change to show")
    labels = ({d.id: localise(d.label, "en", instrument.default_language)
               for d in instrument.scoring.domains} if instrument and instrument.scoring else {})
    click.echo(f"{project.name} · {instrument_id}: change from {table.waves[0] if table.waves else '-'}")
    for change in table.changes:
        place = change.site or "All sites (" + (", ".join(change.sites) or "none") + ")"
        head = f"{labels.get(change.domain, change.domain)} · {place} · {change.follow_up}:"
        if change.suppressed:
            click.echo(f"{head} suppressed (fewer than {table.min_cell_size})")
        elif not change.comparable or change.difference is None:
            click.echo(f"{head} not compared")
        else:
            effect = change.effect.value if change.effect and change.effect.value is not None else None
            click.echo(f"{head} {format_signed(change.difference, 'en')} "
                       f"95% CI {_range(change.ci_low, change.ci_high)}"
                       + (f", g {format_signed(effect, 'en', 2)}" if effect is not None else "")
                       + (f", q {_q(change.q_value)}" if change.q_value is not None else ""))
    if not paired:
        return
    panel = queries.scores.panel_table(project, instrument_id)
    click.echo(f"Panel: {panel.linked} follow-up responses linked by a panel code")
    for change in panel.changes:
        place = change.site or "All sites"
        head = f"{labels.get(change.domain, change.domain)} · {place} · {change.follow_up}:"
        if change.suppressed:
            click.echo(f"{head} suppressed")
            continue
        p, w = change.paired, change.unpaired
        click.echo(f"{head} {p.method} ({p.n_paired} pairs of {p.n_before}/{p.n_after}) "
                   f"{_signed(p.difference)} 95% CI {_range(p.ci_low, p.ci_high)}; "
                   f"unpaired {_signed(w.difference)} 95% CI {_range(w.ci_low, w.ci_high)}")
    for left in panel.attrition:
        if left.suppressed:
            continue
        place = left.site or "All sites"
        click.echo(f"Attrition · {labels.get(left.domain, left.domain)} · {place}: "
                   f"{left.n_returned} of {left.n_baseline} came back"
                   + (f"; returners' baseline {_signed(left.difference)} "
                      f"95% CI {_range(left.ci_low, left.ci_high)}" if left.difference is not None else "")
                   + (" — returner bias" if left.flagged else ""))


def _signed(value):
    return format_signed(value, "en") if value is not None else "-"


def _range(low, high):
    return format_range(low, high, "en") if low is not None and high is not None else "-"


def _q(value):
    return "< 0.001" if value < 0.001 else format_fixed(value, "en", 3)
