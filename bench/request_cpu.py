"""Per-request CPU of respondent requests, in process (Flask test client), rate limits on.

Each round walks ``--people`` HTML respondents through the capacity survey (landing, start,
every page GET + POST, done) and ``--people`` API submissions, then ``--static`` requests
for a hashed CSS file from a visitor with a session cookie, and prints the process CPU ms
per request (inside the app, and with the test client's own work): the median of
``--rounds`` rounds. ``--profile`` prints the top of a cProfile of one more round.

    PYTHONPATH=$PWD python bench/request_cpu.py --people 20 --rounds 3 [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import time
import uuid
from pathlib import Path

from werkzeug.datastructures import MultiDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import fresh_app, median  # noqa: E402
from tests.respondents import PAGES, _Hidden, make_respondents  # noqa: E402


def _hidden(html: str, name: str) -> str:
    parser = _Hidden()
    parser.feed(html)
    return parser.values[name]


def _walk(client, person) -> int:
    """One HTML respondent from landing page to done; returns the number of requests."""
    requests = 0
    landing = client.get(f"/s/{person.code}?lang={person.language}")
    reply = client.post(f"/s/{person.code}/start", data={
        "csrf_token": _hidden(landing.get_data(as_text=True), "csrf_token"),
        "submission_id": str(uuid.uuid4()), "language": person.language})
    requests += 2
    assert reply.status_code == 302, reply.status_code
    path = re.sub(r"^https?://[^/]+", "", reply.headers["Location"])
    while not path.split("?")[0].endswith("/done"):
        page = PAGES[path.split("?")[0].rstrip("/").split("/")[-1]]
        shown = client.get(path)
        assert shown.status_code == 200, shown.status_code
        pairs = [("csrf_token", _hidden(shown.get_data(as_text=True), "csrf_token")), ("action", "next")]
        for question in page.questions:
            for key in question.answer_keys:
                value = person.answers.get(key)
                for item in (value if isinstance(value, list) else [] if value is None else [value]):
                    pairs.append((key, str(item)))
        reply = client.post(path, data=MultiDict(pairs))
        requests += 2
        assert reply.status_code == 302, (reply.status_code, reply.get_data(as_text=True)[:300])
        path = re.sub(r"^https?://[^/]+", "", reply.headers["Location"])
    client.get(path)
    return requests + 1


def _round(app, code: str, people: int, seed: int, profiler=None) -> float:
    crowd = make_respondents(code, 2 * people, site="Bench", wave="baseline", seed=seed)
    count = 0
    inside = [0.0]
    wsgi_app = app.wsgi_app

    def timed(environ, start_response):
        # The app's own CPU only: the test client's building and parsing are left out.
        began = time.process_time()
        try:
            return wsgi_app(environ, start_response)
        finally:
            inside[0] += time.process_time() - began
    app.wsgi_app = timed
    start = time.process_time()
    if profiler:
        profiler.enable()
    for person in crowd:
        client = app.test_client()
        if person.mode == "api":
            body = {"submission_id": str(uuid.uuid4()), "campaign": code,
                    "language": person.language, "answers": person.answers}
            reply = client.post("/api/v1/submissions", json=body)
            assert reply.status_code in (200, 201), reply.get_data(as_text=True)[:300]
            count += 1
        else:
            count += _walk(client, person)
    if profiler:
        profiler.disable()
    app.wsgi_app = wsgi_app
    return inside[0] * 1000 / count, (time.process_time() - start) * 1000 / count


def _static_round(app, code: str, count: int) -> float:
    """In-app CPU ms per static file request from a visitor who has a session cookie."""
    client = app.test_client()
    page = client.get(f"/s/{code}").get_data(as_text=True)
    url = re.findall(r'href="(/static/[^"]+\.css)"', page)[0]
    spent = 0.0
    for _ in range(count):
        began = time.process_time()
        client.get(url)
        spent += time.process_time() - began
    return spent * 1000 / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20, help="HTML and as many API respondents a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", help="a database URL (default a new SQLite file)")
    parser.add_argument("--static", type=int, default=500, help="static file requests a round")
    parser.add_argument("--limits-storage", help="RATELIMIT_STORAGE_URI (default the app's)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime", help="pstats order for --profile")
    args = parser.parse_args()
    extra = {"RATELIMIT_STORAGE_URI": args.limits_storage} if args.limits_storage else {}
    app, code = fresh_app(args.database, **extra, RATELIMIT_ENABLED=True, RESPONSE_RATE_LIMIT="100000/minute",
                          RESPONDENT_ADDRESS_RATE_LIMIT="100000/minute", RESUME_GUESS_RATE_LIMIT="100000/minute",
                          START_PER_SESSION_RATE_LIMIT="100000/minute", START_PER_ADDRESS_RATE_LIMIT="100000/minute",
                          API_RATE_LIMIT="100000/minute")
    _round(app, code, 2, seed=99)  # warm caches, templates, compiled regexes
    figures = [_round(app, code, args.people, seed=number) for number in range(args.rounds)]
    statics = [_static_round(app, code, args.static) for _ in range(args.rounds)]
    profiler = cProfile.Profile() if args.profile else None
    if profiler:  # a round of its own: the profiler's overhead stays out of the figures
        _round(app, code, args.people, seed=args.rounds, profiler=profiler)
    print("in-app CPU ms per request by round:", " ".join(f"{f[0]:.2f}" for f in figures))
    print(f"median in-app CPU per request: {median([f[0] for f in figures]):.2f} ms "
          f"(with the test client's own work: {median([f[1] for f in figures]):.2f} ms)")
    print(f"median CPU per static file request (with a session cookie, test client included): "
          f"{median(statics):.3f} ms")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)


if __name__ == "__main__":
    main()
