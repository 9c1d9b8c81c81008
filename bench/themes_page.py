"""Size and time of the themes page at 20,000 answers, against a trivial staff page.

    PYTHONPATH=$PWD .venv/bin/python bench/themes_page.py [--answers 20000] [--gets 7]

Builds one campaign of ``--answers`` complete responses (closed answers from the
synthetic generator, the free-text question from the planted survey answers of
tests/data/themes/survey_en.tsv, each varied: a word dropped, a filler added), runs themes
once (as the job would: engine, then store), then signs an analyst in and prints:

* the POST that starts a run (it must queue the job without reading the texts),
* the themes page's HTML size (budget 300 KB) and the median of ``--gets`` GETs
  (budget 500 ms), next to the median of the staff home page in the same process (the
  machine is shared: the ratio is what to compare across machines),
* the largest texts page (one theme's texts, ``?page=1``) the same way.

Responses are inserted in bulk (not through submit_response) so that building 20,000
takes seconds; what the page reads of them is the same.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from common import fresh_app  # noqa: E402
from surveyapp import operations, queries  # noqa: E402
from surveyapp.domain.answers import Context  # noqa: E402
from surveyapp.domain.synthetic import synthetic_answers  # noqa: E402
from surveyapp.extensions import db  # noqa: E402
from surveyapp.models import Response  # noqa: E402
from surveyapp.queries.themes import Source  # noqa: E402

EMAIL, PASSWORD = "bench-analyst@example.org", "correct horse battery"
FILLERS = ["please", "really", "every day", "in my area", "near the school", "at night",
           "for years", "on weekends", "honestly", "asap"]
PAGE_BUDGET, TIME_BUDGET = 300 * 1024, 0.5


def texts(n: int, seed: int = 0) -> list[str]:
    rows = (ROOT / "tests" / "data" / "themes" / "survey_en.tsv").read_text(encoding="utf-8")
    base = [line.split("\t", 1)[1] for line in rows.splitlines() if "\t" in line]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choice(base).split()
        if len(words) > 4 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        if rng.random() < 0.6:
            words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
        out.append(" ".join(words))
    return out


def build(app, code: str, n: int) -> Source:
    """``n`` complete responses to the campaign, inserted in bulk; returns its source."""
    rng = random.Random(1)
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        version = campaign.pinned_version
        instrument = queries.instruments.instrument_of(version)
        templates = [synthetic_answers(instrument, rng, Context("Bench", "baseline", "en"), 0.5)
                     for _ in range(50)]
        rows = []
        for index, text in enumerate(texts(n)):
            answers = dict(templates[index % len(templates)])
            answers["safer_ideas"] = text
            rows.append({"submission_id": uuid.uuid4(), "campaign_id": campaign.id,
                         "instrument_version_id": version.id, "language": "en",
                         "status": "complete", "resume_code": uuid.uuid4().hex[:16],
                         "answers": answers, "source": "web"})
        for start in range(0, len(rows), 2000):
            db.session.execute(sa.insert(Response), rows[start:start + 2000])
        db.session.commit()

        def work():
            operations.staff.create_user(EMAIL, PASSWORD, ["analyst"], campaign.project)
        operations.transaction(work)
        return Source("question", campaign.project_id, "community-capacity", "safer_ideas",
                      campaign.id)


def timed(client, url: str, gets: int) -> tuple[int, float]:
    """(bytes, median seconds) of ``gets`` GETs after one warm-up."""
    reply = client.get(url)
    assert reply.status_code == 200, (url, reply.status_code)
    times = []
    for _ in range(gets):
        start = time.perf_counter()
        reply = client.get(url)
        times.append(time.perf_counter() - start)
    return len(reply.data), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=20000)
    parser.add_argument("--gets", type=int, default=7)
    args = parser.parse_args()
    app, code = fresh_app(JOB_SWEEP_SECONDS=0)
    start = time.perf_counter()
    source = build(app, code, args.answers)
    print(f"built {args.answers} answers in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    with app.app_context():
        run = operations.transaction(lambda: operations.themes.run_themes(source))
        found = len(run.themes)
    print(f"ran themes once in {time.perf_counter() - start:.1f} s: {found} themes")

    client = app.test_client()
    reply = client.post("/login", data={"email": EMAIL, "password": PASSWORD,
                                        "csrf_token": _token(client, "/login")})
    assert reply.status_code == 302, reply.status_code
    url = (f"/staff/projects/{source.project_id}/themes/community-capacity/safer_ideas"
           f"?campaign={source.campaign_id}")

    _, home = timed(client, "/staff/", args.gets)
    size, page = timed(client, url, args.gets)
    print(f"staff home (baseline): median {home * 1000:.0f} ms")
    print(f"themes page: {size / 1024:.0f} KB ({size / PAGE_BUDGET:.0%} of 300 KB), "
          f"median {page * 1000:.0f} ms ({page / TIME_BUDGET:.0%} of 500 ms; "
          f"{page / home:.1f}x the staff home)")
    with app.app_context():
        largest = max(queries.themes.themes_of(source),
                      key=lambda t: len([1 for v in queries.themes.effective_themes(source).values()
                                         if v == t.id]))
    theme_url = (f"/staff/projects/{source.project_id}/themes/community-capacity/safer_ideas/"
                 f"texts/{largest.id}?campaign={source.campaign_id}&page=1")
    if client.get(theme_url).status_code == 200:
        size, texts_page = timed(client, theme_url, args.gets)
        print(f"largest theme's texts page: {size / 1024:.0f} KB, median {texts_page * 1000:.0f} ms")

    # Starting a run: the POST must queue a job (more texts than THEMES_INLINE_MAX_TEXTS)
    # without reading them. The job itself is not waited for.
    app.config["THEMES_INLINE_MAX_TEXTS"] = 2000
    token = _token(client, url)
    base, _, query = url.partition("?")
    from surveyapp.jobs import thread_backend
    submitted = []
    original = thread_backend.submit
    thread_backend.submit = lambda app_, job_id: submitted.append(job_id)   # queue, do not run
    try:
        start = time.perf_counter()
        reply = client.post(f"{base}/run?{query}", data={"csrf_token": token, "k": "auto"})
        post = time.perf_counter() - start
    finally:
        thread_backend.submit = original
    print(f"POST run: {reply.status_code} -> {reply.headers.get('Location')} in {post * 1000:.0f} ms "
          f"(jobs queued: {len(submitted)})")


def _token(client, url: str) -> str:
    from tests.helpers import hidden
    return hidden(client.get(url).text, "csrf_token")


if __name__ == "__main__":
    main()
