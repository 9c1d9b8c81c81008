"""A whole community-capacity survey in Chromium on an emulated slow 3G connection.

gunicorn on a fresh SQLite database; Debian's Chromium (Playwright) with DevTools'
"Slow 3G" throttling set through CDP ``Network.emulateNetworkConditions``: 2,000 ms
round trip (400 ms x DevTools' 5x factor), 50,000 bytes/s down and up (500 kbit/s x 0.8),
the constants Chrome DevTools and Lighthouse use. A phone-sized page opens the landing
page, starts, answers every page (synthetic valid answers) and submits, as a person
would. Prints the time per page and in all, the requests made and the bytes received
as transferred (CDP ``encodedDataLength``: headers and compressed bodies).

    PYTHONPATH=. .venv/bin/python bench/slow3g.py [--no-compress] [--runs 1]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from surveyapp.domain.answers import Context  # noqa: E402
from surveyapp.domain.synthetic import synthetic_answers  # noqa: E402
from tests.loadgen import gunicorn, server_env  # noqa: E402

from load import database, new_campaign, prepare  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000,
           "uploadThroughput": 50_000}


def fill(page, survey_page, answers: dict) -> None:
    """Enter this page's answers as a person would (as tests/browser/test_survey_browser.py)."""
    for question in survey_page.questions:
        for key in question.answer_keys:
            value = answers.get(key)
            if value is None:
                continue
            if question.type in {"select_one", "likert", "matrix"}:
                page.locator(f'input[type="radio"][name="{key}"][value="{value}"]').check()
            elif question.type == "select_multiple":
                for item in value:
                    page.locator(f'input[type="checkbox"][name="{key}"][value="{item}"]').check()
            elif question.type == "ranking":
                selects = page.locator(f'select[name="{key}"]')
                for position, item in enumerate(value):
                    selects.nth(position).select_option(str(item))
            else:
                page.locator(f'[name="{key}"]').fill(str(value))


def one_survey(browser, base: str, code: str, instrument, answers) -> dict:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(120_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    received = {"bytes": 0, "requests": 0}

    def finished(event):
        received["bytes"] += event["encodedDataLength"]
        received["requests"] += 1
    cdp.on("Network.loadingFinished", finished)

    pages = {p.id: p for p in instrument.pages}
    steps = []
    start = time.perf_counter()
    t = time.perf_counter()
    page.goto(f"{base}/s/{code}?lang=en", wait_until="load")
    steps.append(("landing", time.perf_counter() - t))
    t = time.perf_counter()
    with page.expect_navigation(wait_until="load"):
        page.locator('form[action$="/start"] button').click()
    steps.append(("start", time.perf_counter() - t))
    for _ in range(len(pages) + 1):
        current = urlsplit(page.url).path.rstrip("/").split("/")[-1]
        if current == "done":
            break
        fill(page, pages[current], answers)
        t = time.perf_counter()
        with page.expect_navigation(wait_until="load"):
            page.locator('button[name="action"][value="next"]').click()
        steps.append((current, time.perf_counter() - t))
    assert urlsplit(page.url).path.endswith("/done"), page.url
    total = time.perf_counter() - start
    context.close()
    return {"total": total, "steps": steps, **received}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-compress", action="store_true", help="SURVEYAPP_COMPRESS=false")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with database("sqlite") as url:
        app = prepare(url)
        code, instrument = new_campaign(app, "Slow 3G")
        env = server_env(url, COMPRESS="false" if args.no_compress else "true")
        with gunicorn(env) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
            runs = []
            for run in range(args.runs):
                answers = synthetic_answers(instrument, random.Random(run), Context("Slow 3G", "baseline", "en"))
                runs.append(one_survey(browser, server.url, code, instrument, answers))
            browser.close()
    print(f"community-capacity, en, Chromium on slow 3G (2000 ms RTT, 50 kB/s), "
          f"compression {'off' if args.no_compress else 'on'}, answering time excluded")
    for name, seconds in runs[-1]["steps"]:
        print(f"  {name:22} {seconds:6.2f} s")
    print(f"whole survey: median {statistics.median(r['total'] for r in runs):.1f} s over {len(runs)} run(s); "
          f"{runs[-1]['requests']} requests, {runs[-1]['bytes']} bytes received")


if __name__ == "__main__":
    main()
