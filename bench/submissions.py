"""Submissions per second through POST /api/v1/submissions on SQLite, against a baseline.

The candidate is the app as configured (pooled connections, WAL, busy timeout).
The baseline opens and closes a connection per request with the default rollback
journal: what you get without the connect-event pragmas and pooling. Rounds
alternate between the two so machine noise falls on both; we print medians and
the ratio.

    .venv/bin/python bench/submissions.py [--rounds 5] [--per-round 200]
"""
from __future__ import annotations

import argparse
import random
import time
import uuid

from sqlalchemy.pool import NullPool

from surveyapp.domain.answers import Context
from surveyapp.domain.instruments import load_file
from surveyapp.domain.synthetic import synthetic_answers

from common import ROOT, fresh_app, median


def bodies(code: str, count: int, seed: int):
    instrument = load_file(ROOT / "instruments" / "community-capacity.yaml")
    rng = random.Random(seed)
    context = Context("Bench", "baseline", "en")
    return [{"submission_id": str(uuid.uuid4()), "campaign": code, "language": "en",
             "answers": synthetic_answers(instrument, rng, context)} for _ in range(count)]


def rate(app, code, count, seed) -> float:
    client = app.test_client()
    payloads = bodies(code, count, seed)
    start = time.perf_counter()
    for body in payloads:
        assert client.post("/api/v1/submissions", json=body).status_code == 201
    return count / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()

    candidate, candidate_code = fresh_app()
    baseline, baseline_code = fresh_app(SQLITE_JOURNAL_MODE="DELETE",
                                        SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})

    results = {"baseline": [], "candidate": []}
    for round_ in range(args.rounds):
        results["baseline"].append(rate(baseline, baseline_code, args.per_round, round_))
        results["candidate"].append(rate(candidate, candidate_code, args.per_round, round_))
    b, c = median(results["baseline"]), median(results["candidate"])
    print(f"submissions/s over {args.rounds} rounds of {args.per_round} (median)")
    print(f"  baseline  (NullPool, rollback journal): {b:8.1f}  {['%.0f' % x for x in results['baseline']]}")
    print(f"  candidate (pool, WAL, busy timeout)   : {c:8.1f}  {['%.0f' % x for x in results['candidate']]}")
    print(f"  ratio candidate/baseline: {c / b:.2f}x")


if __name__ == "__main__":
    main()
