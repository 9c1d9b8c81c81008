"""Bytes of every survey page (HTML + CSS + JS, uncompressed) against the 30 KB budget.

    .venv/bin/python bench/page_weight.py
"""
from __future__ import annotations

import re
import uuid

from surveyapp import queries
from surveyapp.extensions import db

from common import fresh_app

BUDGET = 30 * 1024


def main():
    app, _ = fresh_app()
    client = app.test_client()
    assets = {name: len(client.get(f"/static/{name}").data) for name in ("survey.css", "survey.js")}
    rows = []
    with app.app_context():
        from surveyapp import operations
        for instrument_id in ("community-capacity", "programme-feedback"):
            code = operations.transaction(lambda: operations.campaigns.create_campaign(
                instrument_id, operations.campaigns.get_or_create_site("Weights"), "follow-up 1").code)
            instrument = queries.instrument_of(queries.latest_version(instrument_id))
            for language in instrument.languages:
                landing = client.get(f"/s/{code}?lang={language}").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', landing).group(1)
                start = client.post(f"/s/{code}/start", data={
                    "csrf_token": token, "submission_id": str(uuid.uuid4()), "language": language})
                base = start.headers["Location"].rsplit("/", 1)[0]
                rows.append((instrument_id, language, "landing", len(landing.encode())))
                for page in instrument.pages:
                    rows.append((instrument_id, language, page.id, len(client.get(f"{base}/{page.id}").data)))
        db.session.remove()
    total_assets = sum(assets.values())
    print(f"assets: {assets} = {total_assets} B")
    print(f"{'instrument':20} {'lang':4} {'page':20} {'html':>7} {'total':>7} {'of budget':>9}")
    for instrument_id, language, page, size in sorted(rows, key=lambda r: -r[3])[:10]:
        total = size + total_assets
        print(f"{instrument_id:20} {language:4} {page:20} {size:7} {total:7} {total / BUDGET:8.0%}")
    heaviest = max(rows, key=lambda r: r[3])
    print(f"heaviest: {heaviest[0]} {heaviest[1]} {heaviest[2]}: {heaviest[3] + total_assets} B "
          f"= {(heaviest[3] + total_assets) / BUDGET:.2f} of the {BUDGET} B budget")


if __name__ == "__main__":
    main()
