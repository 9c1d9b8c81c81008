"""The themes page after an analyst's edits and a re-run (issue 21 item 6), and at scale
(item 7): merge, split, rename and "no theme" through the page, then "Run again"; the page
and its texts pages at 5,000 answers; starting a run without reading the texts."""
from __future__ import annotations

import html
import re
import uuid

import pytest
import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain import theme_reruns
from surveyapp.extensions import db
from surveyapp.models import Response, Theme
from tests.helpers import (LIGHTS, POLICE, analyst_client, page_url, plant, post,
                           question_source, run, theme_ids)


EMPTY = re.compile(r"(?<![\d,.])0 texts")       # a theme of 0 texts (not "2,000 texts")


def sections(page: str) -> dict[str, str]:
    """{theme label: its section's HTML} of the themes page."""
    found = {}
    for part in page.split('<section class="theme"')[1:]:
        label = html.unescape(re.search(r'<h2 id="t\d+" dir="auto">([^<]*)</h2>', part).group(1))
        found[label] = part.split("</section>")[0]
    return found


def count_of(section: str) -> int:
    return int(re.search(r"<p>(\d+) texts?", section).group(1))


def crosstab_rows(page: str) -> list[str]:
    table = page.split('class="data crosstab"')[1].split("</table>")[0]
    return [html.unescape(label) for label in re.findall(r'<th scope="row" dir="auto">([^<]*)</th>', table)]


def assert_describes_its_own_texts(section: str, texts: list[str]) -> None:
    """Every quote shown is one of the theme's texts; every key phrase is used by one."""
    own = {" ".join(t.split()) for t in texts}
    for quote in re.findall(r'<q dir="auto">([^<]*)</q>', section):
        assert html.unescape(quote) in own, quote
    phrases = re.search(r'Key phrases: <span dir="auto">([^<]*)</span>', section)
    flat = ["".join(c for c in t.casefold() if c.isalnum()) for t in own]
    for phrase in (html.unescape(phrases.group(1)).split(", ") if phrases else []):
        key = "".join(c for c in phrase.casefold() if c.isalnum())
        assert any(key in t for t in flat), phrase


def test_a_merged_theme_stays_merged_after_run_again(app, project):
    """Issue 21's report: merge X into Y, "Run again": X came back as a theme of 0 texts
    still showing its quotes, key phrases and tone, and as a 0/0 row in "Themes by group"."""
    client = analyst_client(app)
    assert post(client, project, "run", k="2").status_code == 302
    labels = theme_ids(app, project)
    lights = next(i for label, i in labels.items() if "light" in label or "dark" in label)
    police = next(i for i in labels.values() if i != lights)
    police_label = next(label for label, i in labels.items() if i == police)
    assert post(client, project, "edit", action="merge", theme=police, into=lights).status_code == 302
    merged = sections(client.get(page_url(project)).text)
    assert len(merged) == 1
    # The surviving theme shows the quotes of both: they are all its texts now.
    assert_describes_its_own_texts(next(iter(merged.values())), LIGHTS + POLICE)
    assert post(client, project, "run", k="2").status_code == 302

    page = client.get(page_url(project)).text
    themes = sections(page)
    assert list(themes) != [] and len(themes) == 1, list(themes)
    (label, section), = themes.items()
    assert count_of(section) == 12 and not EMPTY.search(page)
    assert police_label not in page                     # no ghost, by its old label either
    assert crosstab_rows(page) == [label, "Without a theme"]
    assert_describes_its_own_texts(section, LIGHTS + POLICE)
    # Tone covers the 12 texts (both subjects), not the 6 the engine described.
    with app.app_context():
        theme = db.session.get(Theme, lights)
        assert theme.sentiment["scored"] == 12


def test_new_answers_like_a_merged_theme_join_the_surviving_one(app, project):
    client = analyst_client(app)
    post(client, project, "run", k="2")
    labels = theme_ids(app, project)
    lights = next(i for label, i in labels.items() if "light" in label or "dark" in label)
    police = next(i for i in labels.values() if i != lights)
    post(client, project, "edit", action="merge", theme=police, into=lights)
    plant(app, app.test_client(), project["code"], [
        "Police patrols on foot in the evening please", "More police patrols walking at weekends",
        "Police on foot in the evening, more patrols"])
    post(client, project, "run", k="2")
    page = client.get(page_url(project)).text
    themes = sections(page)
    assert len(themes) == 1 and not EMPTY.search(page)
    # The engine may leave a text without a theme; it never makes the police theme again.
    assert count_of(next(iter(themes.values()))) >= 13


def test_rename_split_and_no_theme_survive_run_again_without_empty_themes(app, project):
    client = analyst_client(app)
    post(client, project, "run", k="2")
    labels = theme_ids(app, project)
    lights = next(i for label, i in labels.items() if "light" in label or "dark" in label)
    police = next(i for i in labels.values() if i != lights)
    police_refs = [f"r{i}:safer_ideas" for i in project["responses"][6:]]
    assert post(client, project, "edit", action="rename", theme=lights,
                label="Street lighting").status_code == 302
    assert post(client, project, "edit", action="split", theme=police, label="On foot",
                items=police_refs[:2]).status_code == 302
    # The rest of the police texts: "no theme", ticked on the theme's texts page. The
    # theme left with no text goes at once.
    reply = post(client, project, "edit", action="assign", into="none", items=police_refs[2:],
                 back=str(police))
    assert reply.status_code == 302 and f"/texts/{police}" in reply.headers["Location"]
    page = client.get(page_url(project)).text
    assert set(sections(page)) == {"Street lighting", "On foot"} and not EMPTY.search(page)

    assert post(client, project, "run", k="2").status_code == 302
    page = client.get(page_url(project)).text
    themes = sections(page)
    assert set(themes) == {"Street lighting", "On foot"}, list(themes)
    assert count_of(themes["Street lighting"]) == 6 and count_of(themes["On foot"]) == 2
    assert not EMPTY.search(page)
    assert crosstab_rows(page) == ["Street lighting", "On foot", "Without a theme"]
    assert_describes_its_own_texts(themes["Street lighting"], LIGHTS)
    assert_describes_its_own_texts(themes["On foot"], POLICE[:2])
    unthemed = client.get(page_url(project).replace("?", "/texts/none?")).text
    assert unthemed.count('name="items"') == 4 and "set by an analyst" in unthemed


# ----------------------------------------------------------------------------- the plan

@pytest.mark.parametrize("found, existing, held, targets", [
    # X (ids 3, 4) merged into Y (1, 2): the engine finds both again; X goes.
    ([{"a", "b"}, {"c", "d"}], {10: {"a", "b"}}, {"c": 10, "d": 10}, [10, theme_reruns.DROP]),
    # ... and a new text like X's lands in Y with them.
    ([{"a", "b"}, {"c", "d", "e"}], {10: {"a", "b"}}, {"c": 10, "d": 10}, [10, 10]),
    # A split kept apart: P keeps what the analyst left in it; the split-off theme its own.
    ([{"a", "b", "c", "d"}], {10: {"c", "d"}, 11: set()}, {"a": 11, "b": 11}, [10]),
    # Mostly "no theme": dropped; a theme nobody's placements hold is new.
    ([{"a", "b", "c"}, {"x", "y"}], {}, {"a": None, "b": None}, [theme_reruns.DROP, None]),
])
def test_the_rerun_plan(found, existing, held, targets):
    plan = theme_reruns.plan_rerun(found, existing, held)
    assert plan.targets == targets
    assert all(t in plan.keep for t in targets if t not in (None, theme_reruns.DROP))


# ----------------------------------------------------------------------------- at scale

def _bulk_answers(app, project, n: int) -> None:
    """``n`` more complete responses to the campaign, inserted in bulk (as bench/themes_page.py)."""
    subjects = LIGHTS + POLICE + ["The bins are not collected and rubbish piles up on the corner",
                                  "Youth club closed, nothing for teenagers to do in the evening",
                                  "Cars speed down the high street, we need speed bumps"]
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(project["code"])
        rows = [{"submission_id": uuid.uuid4(), "campaign_id": campaign.id,
                 "instrument_version_id": campaign.pinned_version.id, "language": "en",
                 "status": "complete", "resume_code": uuid.uuid4().hex[:16], "source": "web",
                 "answers": {"safer_ideas": f"{subjects[i % len(subjects)]} ({i})",
                             "age_band": "18-24" if i % 2 else "25-34"}}
                for i in range(n)]
        db.session.execute(sa.insert(Response), rows)
        db.session.commit()


def test_the_page_stays_small_at_5000_answers(app, project):
    _bulk_answers(app, project, 5000)
    run(app, question_source(project), k=12)
    client = analyst_client(app)
    page = client.get(page_url(project))
    assert page.status_code == 200
    assert len(page.data) < 300 * 1024, len(page.data)
    # Its counts cover every text; no list of texts is on it.
    assert "5012 texts" in page.text and 'name="items"' not in page.text
    assert sum(count_of(s) for s in sections(page.text).values()) + _unthemed(page.text) == 5012
    link = re.search(r'href="([^"]*/texts/\d+[^"]*)"', page.text).group(1)
    texts = client.get(html.unescape(link))
    assert texts.status_code == 200 and len(texts.data) < 100 * 1024
    assert texts.text.count('name="items"') == 50


def _unthemed(page: str) -> int:
    found = re.search(r'<h2 id="unthemed">[^<]*</h2>\s*<p>([\d,]+) texts?', page)
    return int(found.group(1).replace(",", "")) if found else 0


def test_starting_a_long_run_queues_it_without_reading_the_texts(app, project, monkeypatch):
    """The POST used to read every text to count them (6.7 s at 20,000) before queueing the
    job; the job reads them. Here the texts cannot be read during the POST at all."""
    from surveyapp.jobs import thread_backend
    client = analyst_client(app)
    app.config["THEMES_INLINE_MAX_TEXTS"] = 5            # the 12 answers make a long run
    queued = []
    monkeypatch.setattr(thread_backend, "submit", lambda app_, job_id: queued.append(job_id))

    def unread(*args, **kwargs):
        raise AssertionError("the POST read the texts")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    token_url = page_url(project)
    from tests.helpers import csrf
    token = csrf(client, token_url)
    monkeypatch.setattr(queries.themes, "source_items", unread)
    base, _, query = token_url.partition("?")
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        reply = client.post(f"{base}/run?{query}", data={"csrf_token": token, "k": "2"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert reply.status_code == 302 and "/staff/jobs/" in reply.headers["Location"], reply.text
    assert len(queued) == 1
    # Login, project and page checks, the size check, the job row, the audit: no scan.
    assert len(statements) <= 25, statements
    assert not any("json_extract" in s.lower() or "->>" in s for s in statements)
