"""Bytes of every respondent page as transferred, with its assets on a first visit, against 14 KB.

14 KB (14,600 bytes: ten TCP segments, the initial congestion window) is what a new
connection delivers in its first round trip. For each page of each shipped survey in
each language this prints what a browser receives on a first visit: the page's body
(gzipped as served), the CSS and JS it references (gzipped), and every response's status
line and headers. A later page costs its HTML only: the assets have content-hashed names
and ``immutable`` caching.

    PYTHONPATH=. .venv/bin/python bench/page_weight.py [--all]
"""
from __future__ import annotations

import argparse
import re
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from surveyapp import queries  # noqa: E402
from surveyapp.extensions import db  # noqa: E402

from common import fresh_app  # noqa: E402

BUDGET = 14_600
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def head_bytes(response) -> int:
    """Status line and headers as HTTP/1.1 puts them on the wire."""
    lines = [f"HTTP/1.1 {response.status}"] + [f"{k}: {v}" for k, v in response.headers.items()]
    return sum(len(line) + 2 for line in lines) + 2


def html_of(response) -> str:
    import gzip
    data = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return data.decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="print every page, not the ten heaviest")
    args = parser.parse_args()
    app, _ = fresh_app()
    client = app.test_client()
    assets: dict[str, tuple[int, int, int]] = {}  # url: (raw, body as sent, headers)

    def asset(url):
        if url not in assets:
            sent = client.get(url, headers=GZIP)
            raw = client.get(url)
            assert sent.status_code == 200 and "immutable" in sent.headers["Cache-Control"], url
            assets[url] = (len(raw.data), len(sent.data), head_bytes(sent))
        return assets[url]

    rows = []
    with app.app_context():
        from surveyapp import operations
        for instrument_id in ("community-capacity", "programme-feedback"):
            code = operations.transaction(lambda: operations.campaigns.create_campaign(
                instrument_id, operations.campaigns.get_or_create_site("Weights"), "follow-up 1").code)
            instrument = queries.instruments.instrument_of(queries.instruments.latest_version(instrument_id))
            for language in instrument.languages:
                landing = client.get(f"/s/{code}?lang={language}", headers=GZIP)
                html = html_of(landing)
                token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
                start = client.post(f"/s/{code}/start", data={
                    "csrf_token": token, "submission_id": str(uuid.uuid4()), "language": language})
                base = start.headers["Location"].rsplit("/", 1)[0]
                pages = [("landing", landing)] + [
                    (page.id, client.get(f"{base}/{page.id}", headers=GZIP)) for page in instrument.pages]
                for page_id, reply in pages:
                    text = html_of(reply)
                    urls = ASSET.findall(text)
                    raw = len(text.encode()) + sum(asset(u)[0] for u in urls)
                    first = (len(reply.data) + head_bytes(reply)
                             + sum(asset(u)[1] + asset(u)[2] for u in urls))
                    later = len(reply.data) + head_bytes(reply)
                    rows.append((instrument_id, language, page_id, raw, first, later))
        db.session.remove()
    for url, (raw, sent, head) in assets.items():
        print(f"asset {url}: {raw} B raw, {sent} B gzipped + {head} B headers")
    print(f"{'instrument':20} {'lang':4} {'page':20} {'raw':>7} {'first':>7} {'later':>6} {'of 14 KB':>8}")
    shown = rows if args.all else sorted(rows, key=lambda r: -r[4])[:10]
    for instrument_id, language, page, raw, first, later in shown:
        print(f"{instrument_id:20} {language:4} {page:20} {raw:7} {first:7} {later:6} {first / BUDGET:7.0%}")
    heaviest = max(rows, key=lambda r: r[4])
    print(f"heaviest first visit: {heaviest[0]} {heaviest[1]} {heaviest[2]}: {heaviest[4]} B transferred "
          f"({heaviest[3]} B uncompressed) = {heaviest[4] / BUDGET:.2f} of the {BUDGET} B budget; "
          f"{len(rows)} pages, all within: {all(r[4] <= BUDGET for r in rows)}")


if __name__ == "__main__":
    main()
