"""Published results (issue 10): the public page in every language with the numbers of
the capacity table, suppression, approved quotes only, publish refusals, unpublish, the
audit trail, hostile text, the one-pager, and the links from the thank-you page and a
follow-up's flyer. SQLite, and PostgreSQL when its URL is set (the app fixture)."""
from __future__ import annotations

import html

from markupsafe import escape as _escape
import re

import pytest
from babel.numbers import format_decimal
import sqlalchemy as sa

from surveyapp import operations, queries
from surveyapp.domain import results as rules
from surveyapp.domain.instruments import localise
from surveyapp.domain.labels import format_number
from surveyapp.extensions import db
from surveyapp.models import AuditEvent, Response, Theme
from surveyapp.queries.themes import Source
from tests.helpers import (
    LANGUAGES, LIGHTS, NEXT, POLICE, analyst_of, catalog_text, hidden, html_attrs, plant,
    submit)

def esc(text) -> str:
    return str(_escape(text))


HOSTILE = '"><img src=x onerror=alert(1)>'


def ids_of(app, code):
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        return campaign.id, campaign.project_id


def source_of(app, code):
    campaign_id, project_id = ids_of(app, code)
    return Source("question", project_id, "community-capacity", "safer_ideas", campaign_id)


def run_themes(app, code):
    with app.app_context():
        operations.transaction(lambda: operations.themes.run_themes(source_of(app, code), k=2))
        return [(t.id, t.label, list(t.quotes)) for t in queries.themes.themes_of(source_of(app, code))]


def set_next_steps(app, code, texts):
    with app.app_context():
        def work():
            publication = operations.results.get_or_create(queries.campaigns.campaign_by_code(code))
            operations.results.set_next_steps(publication, texts, user="cli")
        operations.transaction(work)


def approve(app, code, theme_id, quote):
    with app.app_context():
        def work():
            publication = operations.results.get_or_create(queries.campaigns.campaign_by_code(code))
            operations.results.approve_quote(publication, db.session.get(Theme, theme_id), quote,
                                             user="cli")
        operations.transaction(work)


def results_page(client, app, code):
    campaign_id, _ = ids_of(app, code)
    return client.get(f"/staff/campaigns/{campaign_id}/results")


def post(client, app, code, action, data=None):
    page = results_page(client, app, code)
    campaign_id, _ = ids_of(app, code)
    return client.post(f"/staff/campaigns/{campaign_id}/results/{action}",
                       data={"csrf_token": hidden(page.text, "csrf_token"), **(data or {})})


@pytest.fixture
def council(app, make_campaign):
    """Project Council (minimum cell size 5): Riverside at baseline (12 responses) and at
    follow-up 1 (12 responses with street-light and police-patrol ideas, themed), and an
    analyst of it signed in."""
    before = make_campaign(site="Riverside", project="Council")
    after = make_campaign(site="Riverside", wave="follow-up 1", project="Council")
    submit(app, before, 12, seed=1, tendency=0.3)
    plant(app, app.test_client(), after, LIGHTS + POLICE)
    themes = run_themes(app, after)
    client, project_id = analyst_of(app, "Council")
    return {"before": before, "after": after, "themes": themes, "client": client,
            "project_id": project_id}


def published_count(app, code) -> int:
    """The campaign's complete responses as the public reads them: their protected count."""
    from surveyapp.domain.disclosure import Disclosure
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        tally = queries.protected.response_tallies(campaign.id)["complete"]
        shown = Disclosure(campaign.project.min_cell_size).count_of(tally).value
    assert shown % 5 == 0 and abs(shown - tally.n) < 5
    return shown


def expected_rows(app, code, language):
    """(domain label, baseline mean, follow-up mean, change) as the page must write them,
    straight from the capacity table."""
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(code)
        table, instrument = queries.scores.capacity_table(campaign.project, "community-capacity")
        rows = []
        for domain in instrument.scoring.domains:
            before = table.cell("Riverside", "baseline", domain.id)
            after = table.cell("Riverside", "follow-up 1", domain.id)
            change = table.change("Riverside", "follow-up 1", domain.id)
            # One decimal always (45.0 beside 45.8); the change signed, 0.0 unsigned.
            rounded = round(change.difference, 1)
            sign = "+" if rounded > 0 else "\u2212" if rounded < 0 else ""
            rows.append((localise(domain.label, language, "en"),
                         format_decimal(round(before.mean, 1), format="#,##0.0", locale=language),
                         format_decimal(round(after.mean, 1), format="#,##0.0", locale=language),
                         sign + format_decimal(abs(rounded), format="#,##0.0", locale=language)))
        return rows


def test_published_page_in_every_language_has_the_right_numbers(app, council):
    after = council["after"]
    set_next_steps(app, after, NEXT)
    reply = post(council["client"], app, after, "publish")
    assert reply.status_code == 302, reply.text
    for language in LANGUAGES:
        reply = app.test_client().get(f"/r/{after}/?lang={language}")
        assert reply.status_code == 200, language
        text = reply.text
        attrs = html_attrs(text)
        assert attrs["lang"] == language
        assert attrs["dir"] == ("rtl" if language == "ar" else "ltr")
        if language != "en":
            assert esc(catalog_text(language, "What you told us")) in text, language
        # 12 people, shown as their protected count (disclosure control): 10 or 15.
        assert re.search(rf">[^<]*{format_number(published_count(app, after), language)}[^<]*</p>",
                         text), language
        table = text[text.index('<table class="data">'):text.index("</table>")]
        for label, before, now, change in expected_rows(app, after, language):
            assert esc(label) in table, (language, label, table)
            row = table[table.index(esc(label)):].split("</tr>")[0]
            assert [before, now, change] == re.findall(r'<td class="num">(?:<bdi>)?([^<]*)', row), (
                language, label, row)
        assert esc(NEXT[language]) in text
        assert "<svg" in text and 'role="img"' in text and "<desc>" in text
        # The long text alternative is for screen readers (the SVG's <desc>), not printed
        # under the chart: the visible caption is the chart's title only.
        description = text[text.index("<desc>") + 6:text.index("</desc>")]
        caption = text[text.index("<figcaption>") + 12:text.index("</figcaption>")]
        assert description not in caption and len(caption) < len(description) / 2, caption
        assert "<script" not in text  # nothing needs JavaScript
        # Every language of the instrument is one link away (the switcher).
        assert all(f'hreflang="{other}"' in text for other in LANGUAGES if other != language)


def test_a_small_site_is_suppressed_and_refused_below_the_minimum(app, council, make_campaign):
    small_before = make_campaign(site="Smallbrook", project="Council")
    small_after = make_campaign(site="Smallbrook", wave="follow-up 1", project="Council")
    submit(app, small_before, 3, seed=7, tendency=0.5)
    submit(app, small_after, 6, seed=8, tendency=0.5)
    client = council["client"]
    set_next_steps(app, small_before, NEXT)
    reply = post(client, app, small_before, "publish")
    assert reply.status_code == 400
    assert "Only 3 complete responses" in html.unescape(reply.text)
    assert app.test_client().get(f"/r/{small_before}/").status_code == 404

    set_next_steps(app, small_after, NEXT)
    assert post(client, app, small_after, "publish").status_code == 302
    text = app.test_client().get(f"/r/{small_after}/?lang=en").text
    table = text[text.index('<table class="data">'):text.index("</table>")]
    for row in table.split("<tr>")[2:]:
        cells = re.findall(r'<td class="num">(?:<bdi>)?([^<]*)', row)
        assert cells[0] == "fewer than 5" and cells[2] == "fewer than 5", row  # baseline of 3
        assert re.fullmatch(r"\d+(\.\d)?", cells[1]), row                     # follow-up of 6
    assert f"{published_count(app, small_after)} people answered the survey." in text  # 6: 5 or 10
    assert "numbers for groups of fewer than 5 people are not shown" in text
    svg = text[text.index("<svg"):text.index("</svg>")]
    assert svg.count(">Baseline: hidden</text>") == 5  # a marker for each domain, no bar


def test_only_approved_quotes_appear(app, council):
    after = council["after"]
    (theme_id, _label, quotes), *_others = council["themes"]
    assert len(quotes) >= 2
    set_next_steps(app, after, NEXT)
    with app.app_context():
        digest = rules.quote_digest(quotes[0])
    reply = post(council["client"], app, after, "quotes/approve",
                 {"theme_id": theme_id, "digest": digest})
    assert reply.status_code == 302
    # Before publishing, the preview (what partners read) shows what the page will:
    # the approved quote and no other resident's words; the public page is not there yet.
    campaign_id, _ = ids_of(app, after)
    preview = council["client"].get(f"/staff/campaigns/{campaign_id}/results/preview")
    assert preview.status_code == 200 and "not published" in preview.text
    text = html.unescape(preview.text)
    assert quotes[0] in text and not any(other in text for other in LIGHTS + POLICE
                                         if other != quotes[0])
    assert app.test_client().get(f"/r/{after}/").status_code == 404
    assert post(council["client"], app, after, "publish").status_code == 302
    for paper in ("", "print?paper=a4"):
        text = html.unescape(app.test_client().get(f"/r/{after}/{paper}").text)
        assert quotes[0] in text
        for other in LIGHTS + POLICE:
            if other != quotes[0]:
                assert other not in text, other
    # Withdrawn: gone at once.
    assert post(council["client"], app, after, "quotes/unapprove",
                {"theme_id": theme_id, "digest": digest}).status_code == 302
    text = html.unescape(app.test_client().get(f"/r/{after}/").text)
    assert not any(answer in text for answer in LIGHTS + POLICE)
    # A digest that is no quote of the campaign is refused with a message, not a 500.
    reply = post(council["client"], app, after, "quotes/approve",
                 {"theme_id": theme_id, "digest": "0" * 64})
    assert reply.status_code == 400 and "not one of this campaign" in reply.text


def test_publishing_is_refused_while_translations_are_missing(app, council):
    after = council["after"]
    set_next_steps(app, after, {"en": "We meet in March.", "fr": "Réunion en mars."})
    reply = post(council["client"], app, after, "publish")
    assert reply.status_code == 400
    text = html.unescape(reply.text)
    assert "missing in: Español, العربية, 中文, Tiếng Việt, Soomaali." in text
    assert app.test_client().get(f"/r/{after}/").status_code == 404
    with app.app_context():
        campaign = queries.campaigns.campaign_by_code(after)
        problems = queries.results.publish_problems(campaign, queries.results.publication_of(campaign))
    assert [(p.code, p.detail) for p in problems] == [
        ("missing_translations", ("es", "ar", "zh", "vi", "so"))]


def test_publishing_is_refused_with_a_quote_of_a_suppressed_theme(app, council):
    after = council["after"]
    (theme_id, label, quotes), *_ = council["themes"]
    set_next_steps(app, after, NEXT)
    approve(app, after, theme_id, quotes[0])
    with app.app_context():
        def work():
            operations.staff.project_by_name("Council").min_cell_size = 7  # themes hold 6
        operations.transaction(work)
    reply = post(council["client"], app, after, "publish")
    assert reply.status_code == 400
    assert f"({label}): unapprove it first" in html.unescape(reply.text)


def test_unpublish_takes_the_page_down_and_the_audit_log_has_both(app, council):
    after = council["after"]
    set_next_steps(app, after, NEXT)
    client = council["client"]
    assert post(client, app, after, "publish").status_code == 302
    assert app.test_client().get(f"/r/{after}/").status_code == 200
    assert app.test_client().get(f"/r/{after}/print?paper=letter").status_code == 200
    assert post(client, app, after, "unpublish").status_code == 302
    assert app.test_client().get(f"/r/{after}/").status_code == 404
    assert app.test_client().get(f"/r/{after}/print?paper=a4").status_code == 404
    campaign_id, project_id = ids_of(app, after)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action.like("results.%")).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "results.next_steps_set", "results.published", "results.unpublished"]
        for event in events[1:]:
            assert event.actor == "ana@example.org" and event.project_id == project_id
            assert event.target_type == "campaign" and event.target_id == str(campaign_id)
            assert event.ip_hash  # made through a request


def test_staff_forms_need_their_csrf_token(app, council):
    after = council["after"]
    set_next_steps(app, after, NEXT)
    campaign_id, _ = ids_of(app, after)
    reply = council["client"].post(f"/staff/campaigns/{campaign_id}/results/publish", data={})
    assert reply.status_code == 400
    assert app.test_client().get(f"/r/{after}/").status_code == 404


def test_next_steps_form_saves_every_language_and_refuses_too_long(app, council):
    after = council["after"]
    client = council["client"]
    reply = post(client, app, after, "next-steps", {f"text_{lang}": NEXT[lang] for lang in LANGUAGES})
    assert reply.status_code == 302
    with app.app_context():
        assert queries.results.publication_of(queries.campaigns.campaign_by_code(after)).next_steps == NEXT
    reply = post(client, app, after, "next-steps", {"text_en": "x" * (rules.MAX_NEXT_STEPS + 1)})
    assert reply.status_code == 400
    with app.app_context():
        assert queries.results.publication_of(queries.campaigns.campaign_by_code(after)).next_steps == NEXT


def test_hostile_site_name_and_theme_label_stay_text(app, council):
    after = council["after"]
    (theme_id, _label, _quotes), *_ = council["themes"]
    with app.app_context():
        def work():
            campaign = queries.campaigns.campaign_by_code(after)
            campaign.site.name = "Riverside " + HOSTILE
            operations.themes.rename_theme(source_of(app, after), db.session.get(Theme, theme_id),
                                           HOSTILE)
        operations.transaction(work)
    set_next_steps(app, after, {lang: HOSTILE for lang in LANGUAGES})
    assert post(council["client"], app, after, "publish").status_code == 302
    for url in (f"/r/{after}/", f"/r/{after}/print?paper=a4",
                f"/staff/campaigns/{ids_of(app, after)[0]}/results"):
        client = council["client"] if url.startswith("/staff") else app.test_client()
        text = client.get(url).text
        assert "<img" not in text, url
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in text, url


def test_print_page_sizes_and_bad_paper(app, council):
    after = council["after"]
    set_next_steps(app, after, NEXT)
    post(council["client"], app, after, "publish")
    reader = app.test_client()

    def page_rule(page) -> str:
        """The @page rules of the stylesheets the page links (the CSP allows no other)."""
        assert "<style" not in page.text and " style=" not in page.text
        sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
        return " ".join(re.findall(r"@page\s*\{[^}]*\}", "".join(
            reader.get(href).get_data(as_text=True) for href in sheets)))

    a4 = reader.get(f"/r/{after}/print?paper=a4&lang=ar")
    assert a4.status_code == 200 and html_attrs(a4.text)["dir"] == "rtl"
    assert "size: A4" in page_rule(a4) and "letter" not in page_rule(a4)
    assert 'class="qr"' in a4.text and f"/r/{after}/?lang=ar" in a4.text  # the QR code's link
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in a4.text  # the chart too
    letter = reader.get(f"/r/{after}/print?paper=letter")
    assert "size: letter" in page_rule(letter) and "A4" not in page_rule(letter)
    bad = app.test_client().get(f"/r/{after}/print?paper=tabloid")
    assert bad.status_code == 400 and "must be a4 or letter" in bad.text


def test_thank_you_page_and_follow_up_flyer_link_to_published_results(app, council, make_campaign):
    before, after = council["before"], council["after"]
    set_next_steps(app, before, NEXT)
    assert post(council["client"], app, before, "publish").status_code == 302
    # A respondent finishing the baseline is shown the link.
    with app.app_context():
        resume_code = db.session.scalar(sa.select(Response.resume_code).where(
            Response.campaign_id == ids_of(app, before)[0]).limit(1))
    done = app.test_client().get(f"/s/{before}/{resume_code}/done?lang=fr")
    assert f'href="/r/{before}/?lang=fr"' in done.text
    # The follow-up's flyer names the baseline's results page, in each language.
    flyer = council["client"].get(f"/staff/campaigns/{ids_of(app, after)[0]}/flyer")
    assert f"/r/{before}/" in flyer.text
    assert esc(catalog_text("ar", "What residents said last time:")) in flyer.text
