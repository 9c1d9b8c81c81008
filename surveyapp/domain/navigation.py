"""Which page a respondent sees: after this one, before it, and when they come back.

Plain data in, a page out: the web flow, a future offline client and the tests all ask
the same questions. A page is *shown* when at least one of its questions applies given
the answers so far (skip logic); navigation only ever lands on shown pages.
"""
from __future__ import annotations

from typing import Mapping

from surveyapp.domain.answers import Context, page_is_shown
from surveyapp.domain.instruments import Instrument, Page


def shown_pages(instrument: Instrument, answers: Mapping, context: Context) -> list[Page]:
    """The pages that apply to these answers, in the instrument's order."""
    return [p for p in instrument.pages if page_is_shown(p, answers, context)]


def first_page(instrument: Instrument, answers: Mapping, context: Context) -> Page:
    """Where a new response begins: the first shown page (the first page if none is)."""
    shown = shown_pages(instrument, answers, context)
    return shown[0] if shown else instrument.pages[0]


def next_page(instrument: Instrument, page: Page, answers: Mapping, context: Context) -> Page | None:
    """The shown page after ``page``, or None when ``page`` is the last: time to submit."""
    position = instrument.pages.index(page)
    return next((p for p in shown_pages(instrument, answers, context)
                 if instrument.pages.index(p) > position), None)


def previous_page(instrument: Instrument, page: Page, answers: Mapping, context: Context) -> Page:
    """The shown page before ``page``; ``page`` itself when it is the first."""
    position = instrument.pages.index(page)
    earlier = [p for p in shown_pages(instrument, answers, context)
               if instrument.pages.index(p) < position]
    return earlier[-1] if earlier else page


def resume_page(instrument: Instrument, current_page_id: str | None, answers: Mapping,
                context: Context) -> Page:
    """The page to reopen for a respondent who was last on ``current_page_id``.

    That page itself while it is shown: a half-answered page must not be skipped.
    If later answers (or a new instrument version) hide or remove it, the next shown
    page after where it was; failing that the last shown page. Without a current
    page, the first shown page.
    """
    shown = shown_pages(instrument, answers, context)
    if not shown:
        return instrument.pages[0]
    ids = [p.id for p in instrument.pages]
    if current_page_id not in ids:
        return shown[0]
    position = ids.index(current_page_id)
    later = [p for p in shown if instrument.pages.index(p) >= position]
    return later[0] if later else shown[-1]


def position_of(instrument: Instrument, page: Page, answers: Mapping,
                context: Context) -> tuple[int, int]:
    """(this page's number, how many pages are shown), for "Page 2 of 7"."""
    shown = shown_pages(instrument, answers, context)
    number = shown.index(page) + 1 if page in shown else 1
    return number, max(len(shown), 1)
