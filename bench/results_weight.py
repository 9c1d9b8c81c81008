"""Bytes of the published results page and its one-pager (HTML + CSS, uncompressed) in
every language, against the respondent pages' 30 KB budget (see page_weight.py).

    PYTHONPATH=$PWD .venv/bin/python bench/results_weight.py

The campaign is a follow-up with a baseline, 12 themed answers, two approved quotes per
theme and a next-steps text of the longest allowed length in every language: the
heaviest page a publication can make with five capacity domains.
"""
from __future__ import annotations

import random
import uuid

from surveyapp import operations, queries
from surveyapp.domain.answers import Context
from surveyapp.domain.results import MAX_NEXT_STEPS
from surveyapp.domain.synthetic import synthetic_answers
from surveyapp.extensions import db
from surveyapp.models import Theme
from surveyapp.queries.themes import Source

from common import fresh_app

BUDGET = 30 * 1024
TRANSFER_BUDGET = 14 * 1024   # one round trip of a new connection, as transferred (page_weight.py)
GZIP = {"Accept-Encoding": "gzip"}
IDEAS = ["The street lights are broken and the street is dark at night",
         "More police patrols on foot in the evening",
         "Fix the broken street lights, it is too dark at night",
         "Police patrols should walk the estate in the evening",
         "Dark streets at night, we need street lights",
         "We need police patrols on foot, not just cars"] * 2


def main():
    app, _ = fresh_app()
    client = app.test_client()
    rng = random.Random(3)
    with app.app_context():
        def setup():
            site = operations.campaigns.get_or_create_site("Weights")
            codes = []
            for wave in ("baseline", "follow-up 1"):
                campaign = operations.campaigns.create_campaign("community-capacity", site, wave)
                version = campaign.pinned_version
                instrument = queries.instruments.instrument_of(version)
                for index in range(12):
                    answers = synthetic_answers(instrument, rng, Context("Weights", wave, "en"), 0.5)
                    answers["safer_ideas"] = IDEAS[index]
                    operations.surveys.submit_response(
                        campaign, version, instrument, submission_id=uuid.uuid4(),
                        language="en", answers=answers)
                codes.append(campaign)
            return codes[1].code
        code = operations.transaction(setup)

        def publish():
            campaign = queries.campaigns.campaign_by_code(code)
            source = Source("question", campaign.project_id, "community-capacity", "safer_ideas",
                            campaign.id)
            operations.themes.run_themes(source, k=2)
            publication = operations.results.get_or_create(campaign)
            instrument = queries.instruments.instrument_of(campaign.pinned_version)
            operations.results.set_next_steps(
                publication, {lang: ("Next steps. " * 200)[:MAX_NEXT_STEPS].strip()
                              for lang in instrument.languages}, user="cli")
            for theme in queries.themes.themes_of(source):
                for quote in theme.quotes[:2]:
                    operations.results.approve_quote(publication, db.session.get(Theme, theme.id),
                                                     quote, user="cli")
            operations.results.publish(publication, user="cli")
            return instrument.languages
        languages = operations.transaction(publish)
        db.session.remove()
    css = {name: len(client.get(f"/static/{name}").data)
           for name in ("survey.css", "results.css", "results-print.css")}
    page_css = css["survey.css"] + css["results.css"]
    sent_css = sum(len(client.get(f"/static/{name}", headers=GZIP).data)
                   for name in ("survey.css", "results.css"))
    print(f"assets: {css}; page CSS as transferred (gzip): {sent_css} B")
    print(f"{'lang':4} {'page html':>9} {'page total':>10} {'of budget':>9} {'print html':>10} "
          f"{'print total':>11} {'sent (gzip)':>11}")
    heaviest = heaviest_sent = 0
    for language in languages:
        page = len(client.get(f"/r/{code}/?lang={language}").data)
        printed = len(client.get(f"/r/{code}/print?paper=a4&lang={language}").data)
        sent = len(client.get(f"/r/{code}/?lang={language}", headers=GZIP).data) + sent_css
        heaviest = max(heaviest, page + page_css)
        heaviest_sent = max(heaviest_sent, sent)
        print(f"{language:4} {page:9} {page + page_css:10} {(page + page_css) / BUDGET:8.0%} "
              f"{printed:10} {printed + css['results-print.css']:11} {sent:11}")
    print(f"heaviest page: {heaviest} B = {heaviest / BUDGET:.2f} of the {BUDGET} B budget uncompressed; "
          f"{heaviest_sent} B = {heaviest_sent / TRANSFER_BUDGET:.2f} of {TRANSFER_BUDGET} B as transferred")


if __name__ == "__main__":
    main()
