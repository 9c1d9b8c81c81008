"""`surveyapp scores backfill`: capacity-domain scores of complete responses."""
from __future__ import annotations


import click
from flask.cli import AppGroup

from surveyapp import operations, queries


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
