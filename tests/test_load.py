"""Load at CI size, and what makes pages light: hashed static names, cache headers, gzip.

The load test starts gunicorn (two workers) on the test database, SQLite and then
PostgreSQL, and lets 8 simulated respondents (tests/loadgen.py: 4 page by page through
the HTML flow with CSRF, 4 through the API) complete community-capacity at once; every
acknowledged response must be stored exactly once, complete, with the answers sent.
bench/load.py runs the same at full size and prints the rates.
"""
from __future__ import annotations

import gzip
import re

import pytest

from surveyapp.domain.instruments import load_file
from tests.conftest import ROOT
from tests.loadgen import gunicorn, reconcile, run_load, server_env, stored_responses

CAPACITY = load_file(ROOT / "instruments" / "community-capacity.yaml")
GZIP = {"Accept-Encoding": "gzip"}


@pytest.mark.slow
def test_eight_respondents_at_once_nothing_lost_or_doubled(app, make_campaign):
    code = make_campaign(site="Riverside")
    with gunicorn(server_env(app.config["SQLALCHEMY_DATABASE_URI"])) as server:
        result = run_load(server.url, code, CAPACITY, respondents=8, site="Riverside", seed=3)
        output = server.output()
    assert result.failures == [], result.failures
    assert len(result.acknowledged["html"]) == len(result.acknowledged["api"]) == 4
    report = reconcile(result, stored_responses(app, code))
    assert report.ok(), report.line()
    assert report.acknowledged == report.stored_complete == 8 and report.unexpected == 0, report.line()
    assert result.counters["errors"] == 0
    # Every HTML respondent walked the pages: landing, start, then a GET and a POST per page.
    assert result.timings.count("html") >= 4 * (2 + 2 * 5)
    assert "Traceback" not in output, output


def test_reconciliation_counts_a_lost_and_a_changed_response():
    """The checker itself: an acknowledged id missing from the database is lost, other
    answers stored under an acknowledged id are counted as changed."""
    import uuid
    from tests.loadgen import Counters, LoadResult, Timings
    kept, gone = uuid.uuid4(), uuid.uuid4()
    result = LoadResult({"html": set(), "api": {kept, gone}}, {kept: {"q": 1}, gone: {"q": 2}},
                        Counters(), Timings(), 1.0, [])
    report = reconcile(result, {kept: {"status": "complete", "answers": {"q": 9}, "rows": 1}})
    assert (report.lost, report.changed, report.duplicates) == (1, 1, 0) and not report.ok()


def _static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_respondent_pages_name_hashed_assets_served_immutable(client, make_campaign):
    code = make_campaign()
    html = client.get(f"/s/{code}").get_data(as_text=True)
    urls = _static_urls(html)
    assert urls and all(re.search(r"\.[0-9a-f]{10}\.(css|js)$", url) for url in urls), urls
    for url in urls:
        reply = client.get(url)
        assert reply.status_code == 200
        assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        plain = re.sub(r"\.[0-9a-f]{10}\.", ".", url)
        same = client.get(plain)
        assert same.data == reply.data and same.headers["Cache-Control"] == "no-cache"
        assert client.get(url, headers={"If-None-Match": reply.headers["ETag"]}).status_code == 304


def test_static_files_leave_the_session_alone(client, make_campaign):
    """No Vary: Cookie (a shared cache keeps one copy for everybody), no cookie set, and
    the visitor's session is the same afterwards (even after a 404 under /static)."""
    code = make_campaign()
    page = client.get(f"/s/{code}")
    assert "Cookie" in page.headers["Vary"]  # pages do depend on the session
    before = client.get_cookie("session").value
    urls = _static_urls(page.get_data(as_text=True))
    for url in [*urls, re.sub(r"\.[0-9a-f]{10}\.", ".", urls[0]), "/static/nosuch.css"]:
        reply = client.get(url)
        assert "Cookie" not in reply.headers.get("Vary", ""), url
        assert "Set-Cookie" not in reply.headers, url
    assert client.get_cookie("session").value == before
    assert client.get(f"/s/{code}").status_code == 200


def test_an_outdated_hash_is_served_but_never_as_immutable(client):
    reply = client.get("/static/survey.0123456789.css")
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/nosuch.0123456789.css").status_code == 404
    assert client.get("/static/../wsgi.py").status_code == 404


def test_the_hash_follows_the_content(app, tmp_path):
    from surveyapp import assets
    asset = tmp_path / "x.css"
    asset.write_text("a{}")
    app.static_folder = str(tmp_path)
    app.extensions["surveyapp.assets"] = assets._Assets(str(tmp_path))
    with app.test_request_context():
        first = assets.hashed_name("x.css")
        asset.write_text("b{color:red}")
        second = assets.hashed_name("x.css")
    assert first != second and first.startswith("x.") and first.endswith(".css")


def test_html_is_no_store_and_gzipped_when_accepted(client, make_campaign):
    code = make_campaign()
    plain = client.get(f"/s/{code}")
    packed = client.get(f"/s/{code}", headers=GZIP)
    assert plain.headers["Cache-Control"] == packed.headers["Cache-Control"] == "no-store"
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) < 0.6 * len(plain.data)
    assert "csrf_token" in gzip.decompress(packed.data).decode()
    url = _static_urls(plain.get_data(as_text=True))[0]
    css = client.get(url, headers=GZIP)
    assert css.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(css.data) == client.get(url).data


def test_every_respondent_page_fits_14_kb_on_a_first_visit(client, make_campaign):
    """The HTML flow of community-capacity in Arabic (long text, RTL): each page with the
    assets it references, gzipped, headers included, fits one round trip (10 segments)."""
    import uuid
    code = make_campaign()

    def head(reply):
        return sum(len(f"{k}: {v}\r\n") for k, v in reply.headers.items()) + 20

    landing = client.get(f"/s/{code}?lang=ar", headers=GZIP)
    text = gzip.decompress(landing.data).decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    start = client.post(f"/s/{code}/start", data={"csrf_token": token, "language": "ar",
                                                  "submission_id": str(uuid.uuid4())})
    base = start.headers["Location"].rsplit("/", 1)[0]
    for reply in [landing] + [client.get(f"{base}/{p.id}", headers=GZIP) for p in CAPACITY.pages]:
        assert reply.status_code == 200
        urls = _static_urls(gzip.decompress(reply.data).decode())
        total = len(reply.data) + head(reply)
        for url in urls:
            asset = client.get(url, headers=GZIP)
            total += len(asset.data) + head(asset)
        assert total <= 14_600, (reply.request.path, total)


def test_compression_can_be_left_to_a_proxy(app, make_campaign):
    code = make_campaign()
    app.config["COMPRESS"] = False
    reply = app.test_client().get(f"/s/{code}", headers=GZIP)
    assert "Content-Encoding" not in reply.headers and b"csrf_token" in reply.data
