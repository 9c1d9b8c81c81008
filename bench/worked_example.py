"""A worked example of the dashboard's statistics on the demo data, checked independently.

For one domain at one site: the change with Welch's CI (against scipy.stats.ttest_ind),
Hedges' g (against the textbook formula by hand), the Benjamini-Hochberg q across the
table's changes (against scipy.stats.false_discovery_control) and Cronbach's alpha of the
baseline items (against the variance formula by hand). Run after `make db` (demo seed):

    PYTHONPATH=. .venv/bin/python bench/worked_example.py [--domain trust] [--site Riverside]
"""
from __future__ import annotations

import argparse
import math

import numpy as np
import sqlalchemy as sa
from scipy import stats

from surveyapp import create_app, queries
from surveyapp.domain.scoring import item_values
from surveyapp.extensions import db
from surveyapp.models import Campaign, Response, ResponseScore, Site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="trust")
    parser.add_argument("--site", default="Riverside")
    parser.add_argument("--instrument", default="community-capacity")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        project = queries.projects.projects()[0]
        table, instrument = queries.scores.capacity_table(project, args.instrument)
        baseline, follow_up = table.waves[0], table.waves[1]
        change = table.change(args.site, follow_up, args.domain)

        def scores(wave):
            return [float(s) for s in db.session.scalars(
                sa.select(ResponseScore.score).join(Response).join(Campaign).join(Site)
                .where(Campaign.project_id == project.id, Campaign.instrument_id == args.instrument,
                       Campaign.wave == wave, Site.name == args.site, Response.status == "complete",
                       ResponseScore.domain_id == args.domain, ResponseScore.score.is_not(None)))]
        before, after = scores(baseline), scores(follow_up)
        welch = stats.ttest_ind(after, before, equal_var=False)
        interval = welch.confidence_interval(0.95)
        n1, n2 = len(before), len(after)
        pooled = ((n1 - 1) * np.var(before, ddof=1) + (n2 - 1) * np.var(after, ddof=1)) / (n1 + n2 - 2)
        d = (np.mean(after) - np.mean(before)) / math.sqrt(pooled)
        g = d * (1 - 3 / (4 * (n1 + n2) - 9))            # Hedges' approximate J
        shown = [c for c in table.changes if c.p_value is not None]
        q = stats.false_discovery_control([c.p_value for c in shown], method="bh")
        q_ours = dict(zip(((c.site, c.domain) for c in shown), q))[(args.site, args.domain)]
        documents = db.session.scalars(
            sa.select(Response.answers).join(Campaign).where(
                Campaign.project_id == project.id, Campaign.instrument_id == args.instrument,
                Campaign.wave == baseline, Response.status == "complete"))
        rows = [item_values(instrument, doc)[args.domain] for doc in documents]
        complete = np.array([list(r.values()) for r in rows if None not in r.values()], dtype=float)
        k = complete.shape[1]
        alpha = k / (k - 1) * (1 - complete.var(axis=0, ddof=1).sum() / complete.sum(axis=1).var(ddof=1))
        ours = queries.scores.reliability(project.id, args.instrument)[(baseline, args.domain)]
        print(f"{args.domain} at {args.site}, {baseline} n={n1} -> {follow_up} n={n2}")
        print(f"change   ours {change.difference:+.3f} [{change.ci_low:.3f}, {change.ci_high:.3f}]"
              f"   scipy {np.mean(after) - np.mean(before):+.3f} [{interval.low:.3f}, {interval.high:.3f}]")
        print(f"g        ours {change.effect.value:.4f}   by hand (approximate J) {g:.4f}")
        print(f"p        ours {change.p_value:.6f}   scipy {welch.pvalue:.6f}")
        print(f"q (BH)   ours {change.q_value:.6f}   scipy {q_ours:.6f}   over {len(shown)} changes")
        print(f"alpha    ours {ours.alpha:.4f}   by hand {alpha:.4f}   (baseline, all sites, "
              f"{ours.n_respondents} complete of {len(rows)}; lowering: {', '.join(ours.lowering) or 'none'})")


if __name__ == "__main__":
    main()
