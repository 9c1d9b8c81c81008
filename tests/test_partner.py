"""The partner role's pages with real data: the quote-free themes summary against the
stored themes, and the dashboards with nothing row-level. (The route-by-route decisions
are in test_access.py.)"""
from __future__ import annotations

import html
import re
from collections import Counter

from surveyapp import operations, queries
from tests.helpers import answer_with, member

LIGHTS = "The street lights are dark at night near the bus stop, fix the street lights"
PATROLS = "More police patrols walking the streets at night, police patrols on foot"
UNIQUE = "Zephyrine lamps by the old tannery would help"


def test_partner_themes_summary_has_counts_and_no_words(app, make_campaign):
    code = make_campaign(site="Alderbank", project="Council")
    answer_with(app, code, [LIGHTS] * 6 + [PATROLS] * 6 + [UNIQUE])
    with app.app_context():
        project = operations.staff.project_by_name("Council")
        source = queries.themes.Source("question", project.id, "community-capacity", "safer_ideas")
        operations.transaction(lambda: operations.themes.run_themes(source, k=None, language=None, user=None))
        chosen = queries.themes.effective_themes(source)
        counts = Counter(t for t in chosen.values() if t is not None)
        themes = {t.id: (t.label, tuple(t.quotes), tuple(t.key_phrases))
                  for t in queries.themes.themes_of(source)}
        project_id, total = project.id, len(chosen)
    partner = member(app, "partner@example.org", "partner", "Council")
    reply = partner.get(f"/staff/projects/{project_id}/themes/summary")
    assert reply.status_code == 200
    text = html.unescape(reply.text)
    assert "What would make your neighbourhood safer?" in text
    # Disclosure control: each count is a protected one (a multiple of 5 within 4 of the
    # true count), each share of the protected total, and no label the engine made of the
    # answers' words (none was confirmed by an analyst): "Theme N" instead.
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = re.findall(r'<tr><th scope="row"><bdi>([^<]*)</bdi></th><td class="num">(\d+)</td>\s*'
                      r'<td class="num">([^<]*)</td>', text)
    shown_counts = {label: int(count) for label, count, _share in rows}
    shown = small = 0
    for number, (theme_id, n) in enumerate(ranked, start=1):
        label, quotes, _phrases = themes[theme_id]
        if n >= 5:
            count = shown_counts[f"Theme {number}"]
            assert count % 5 == 0 and abs(count - n) < 5, (n, count)
            shown += 1
        else:
            small += 1
        assert f"<bdi>{label}</bdi>" not in text, label
        for quote in quotes:
            assert quote not in text, quote
    assert shown >= 1
    if small:
        assert "of fewer than 5 texts" in text and "suppressed" in text
    for words in (LIGHTS, PATROLS, UNIQUE, "Zephyrine", "tannery"):
        assert words not in text, words
    assert "/themes/community-capacity/" not in text  # no link to the analyst's page
    # The analyst's page of the same question does show quotes: the check above could fail.
    analyst = member(app, "analyst@example.org", "analyst", "Council")
    review = html.unescape(analyst.get(f"/staff/projects/{project_id}/themes/community-capacity/safer_ideas").text)
    assert LIGHTS in review or PATROLS in review


def test_partner_dashboards_show_nothing_row_level(app, make_campaign):
    """A partner's campaign dashboard: the same suppressed charts an analyst sees, less the
    values the choice lists do not name, and no link to responses."""
    code = make_campaign(site="Alderbank", project="Council")
    answer_with(app, code, [UNIQUE] * 7)
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        campaign_id, project_id = campaign.id, campaign.project_id
        # A value no choice list names, sent by some client: stored as it came.
        from surveyapp.extensions import db
        from surveyapp.models import Response
        response = db.session.scalars(db.select(Response).where(Response.campaign_id == campaign_id)).first()
        response.answers = {**response.answers, "area": "behind number 12, Zephyrine"}
        db.session.commit()
    partner = member(app, "partner@example.org", "partner", "Council")
    analyst = member(app, "analyst@example.org", "analyst", "Council")
    for url in (f"/staff/campaigns/{campaign_id}/dashboard", f"/staff/projects/{project_id}/dashboard"):
        seen = partner.get(url)
        assert seen.status_code == 200, url
        text = html.unescape(seen.text)
        assert "Zephyrine" not in text and "/responses" not in text, url
        assert "Responses started per day" in text and "Domain scores by site and wave" in text
        assert "Zephyrine" in html.unescape(analyst.get(url).text), url  # the analyst's shows it


def test_partner_pages_carry_no_english_in_arabic(app, make_campaign):
    """The partner's home, themes summary and dashboards in Arabic: right to left, and no
    run of English interface text."""
    import re
    from tests.helpers import english_fragments
    code = make_campaign(site="Alderbank", project="Council")
    answer_with(app, code, [LIGHTS] * 6 + [UNIQUE])
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        campaign_id, project_id = campaign.id, campaign.project_id
        operations.transaction(lambda: operations.themes.run_themes(queries.themes.Source(
            "question", project_id, "community-capacity", "safer_ideas"), k=None, language=None, user=None))
    partner = member(app, "partner@example.org", "partner", "Council")
    assert partner.get("/staff/?lang=ar").status_code == 200
    fragments = english_fragments()
    for path in ("/staff/", f"/staff/projects/{project_id}/themes/summary",
                 f"/staff/campaigns/{campaign_id}/dashboard", f"/staff/projects/{project_id}/dashboard",
                 f"/staff/projects/{project_id}/capacity"):
        page = partner.get(path).text
        assert 'dir="rtl"' in page and 'lang="ar"' in page, path
        visible = re.sub(r"<[^>]+>", " ", page)
        assert sorted(f for f in fragments if f in visible) == [], path


def test_a_partner_is_offered_no_link_that_refuses_them_and_a_403_keeps_the_staff_pages(app, make_campaign):
    """Every staff link a partner can reach opens for them (the dashboard's Export button led
    to a 403); a page they may not open still shows the staff navigation."""
    import re
    code = make_campaign(site="Alderbank", project="Council")
    after = make_campaign(site="Alderbank", wave="follow-up 1", project="Council")
    answer_with(app, code, [LIGHTS] * 6)
    answer_with(app, after, [PATROLS] * 6, seed=4)
    partner = member(app, "partner@example.org", "partner", "Council")
    seen, queue, refused = set(), ["/staff/"], []
    while queue and len(seen) < 60:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        reply = partner.get(path)
        if reply.status_code == 403:
            refused.append(path)
            continue
        if "text/html" in reply.content_type:
            queue += [link for link in re.findall(r'href="(/staff/[^"#?]*)', reply.text) if link not in seen]
    assert len(seen) > 3 and refused == []
    with app.app_context():
        project_id = queries.campaigns.campaign_by_code(code).project_id
    denied = partner.get(f"/staff/projects/{project_id}/export")
    assert denied.status_code == 403
    assert 'aria-label="Staff"' in denied.text and "Sign out" in denied.text
