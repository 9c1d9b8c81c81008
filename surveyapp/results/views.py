"""The public results page and its one-pager. Thin: find the published campaign, choose
the language the way respondent pages do, read the figures (queries.results), render.

An unknown code and an unpublished one are the same plain 404: unpublishing takes the
page down at the next request, and a code reveals nothing about unpublished work.
"""
from __future__ import annotations

import segno
from flask import abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _

from surveyapp import queries
from surveyapp.access import public
from surveyapp.queries import results as figures
from surveyapp.domain.instruments import text_direction
from surveyapp.i18n import choose_language, remember_language
from surveyapp.results import bp

PAPERS = ("a4", "letter")


def _published(code: str):
    campaign = queries.campaigns.campaign_by_code(code)
    publication = queries.results.publication_of(campaign) if campaign else None
    if publication is None or publication.state != "published":
        abort(404)
    instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
    language = choose_language(instrument.languages, instrument.default_language)
    remember_language(language)
    g.language = language
    return campaign, publication, instrument, language


def page_link(campaign, **values) -> str:
    """The absolute link to the campaign's results page (PUBLIC_BASE_URL if set), as
    printed under the one-pager's QR code and on a follow-up's flyer."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = url_for("results.page", code=campaign.code, **values)
    return f"{base}{path}" if base else url_for("results.page", code=campaign.code,
                                                 _external=True, **values)


@bp.get("/<code>/")
@public
def page(code):
    """The published results in the language chosen (?lang=, then the browser's)."""
    campaign, publication, instrument, language = _published(code)
    results = figures.build(campaign, publication, language)
    return render_template("results/page.html", r=results, campaign=campaign,
                           languages=instrument.languages)


@bp.get("/<code>/print")
@public
def print_page(code):
    """One printed page (?paper=a4 or letter) with the same figures and a QR code."""
    campaign, publication, instrument, language = _published(code)
    paper = request.args.get("paper", "a4").lower()
    if paper not in PAPERS:
        return render_template("error.html", code=400,
                               message=_("The paper size must be a4 or letter.")), 400
    results = figures.build(campaign, publication, language)
    link = page_link(campaign, lang=language)
    qr = segno.make(link, error="m").svg_inline(dark="#000", light="#fff", border=2, omitsize=True)
    return render_template("results/print.html", r=results, campaign=campaign, paper=paper,
                           qr=qr, link=link, direction=text_direction(language))
