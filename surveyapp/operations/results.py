"""Published results (issue 10): every write to a campaign's publication.

publish, unpublish, set_next_steps, approve_quote and unapprove_quote each flush and
record an audit event ("results.published", "results.unpublished",
"results.next_steps_set", "results.quote_approved", "results.quote_unapproved");
the caller commits. Audit details never hold a quote's text (it is a resident's
answer): the theme id and the quote's digest say which one.

The theme quotes a publication may show are those of the themes of its campaign's own
theme sources (one question of this campaign, ``Source(campaign_id=...)``), each
approved by an analyst; see ``queries.results.campaign_themes`` (the reads behind
publishing are there).
"""
from __future__ import annotations

from surveyapp.domain import results as rules
from surveyapp.extensions import db
from surveyapp.models import ApprovedQuote, Campaign, Publication, Theme, User, utcnow
from surveyapp.operations import audit
from surveyapp.queries.campaigns import campaign_version
from surveyapp.queries.instruments import instrument_of
from surveyapp.queries.results import approved_digests, campaign_themes, publication_of, publish_problems


class PublishRefused(ValueError):
    """Publishing (or an edit) refused; ``problems`` are domain.results.Problem values."""

    def __init__(self, problems: list[rules.Problem]):
        super().__init__(", ".join(p.code for p in problems))
        self.problems = problems


# ----------------------------------------------------------------------------- writes

def get_or_create(campaign: Campaign) -> Publication:
    """The campaign's publication, made (unpublished, empty) if it has none."""
    publication = publication_of(campaign)
    if publication is None:
        publication = Publication(campaign=campaign, state="unpublished", next_steps={})
        db.session.add(publication)
        db.session.flush()
    return publication


def _event(action: str, publication: Publication, user: User | str | None, ip: str | None,
           **details) -> None:
    audit.record(action, actor=user, project_id=publication.campaign.project_id,
                 target_type="campaign", target_id=publication.campaign_id,
                 details={"code": publication.campaign.code, **details}, ip=ip)


def set_next_steps(publication: Publication, texts: dict[str, str], *, user: User | str | None,
                   ip: str | None = None) -> None:
    """Replace the "what happens next" text: ``{language: text}`` for the instrument's
    languages (others are refused, a blank text counts as missing). Refused with
    ``Problem("too_long", (language, ...))`` past MAX_NEXT_STEPS characters."""
    instrument = instrument_of(campaign_version(publication.campaign))
    unknown = sorted(set(texts) - set(instrument.languages))
    if unknown:
        raise PublishRefused([rules.Problem("unknown_language", tuple(unknown))])
    cleaned = {lang: (texts.get(lang) or "").strip().replace("\r\n", "\n")
               for lang in instrument.languages}
    too_long = tuple(lang for lang, text in cleaned.items() if len(text) > rules.MAX_NEXT_STEPS)
    if too_long:
        raise PublishRefused([rules.Problem("too_long", too_long)])
    publication.next_steps = {lang: text for lang, text in cleaned.items() if text}
    db.session.flush()
    _event("results.next_steps_set", publication, user, ip,
           languages=sorted(publication.next_steps))


def approve_quote(publication: Publication, theme: Theme, quote: str, *,
                  user: User | str | None, ip: str | None = None) -> None:
    """Approve one of the theme's current quotes for this publication (idempotent).
    Refused (``not_a_quote``) unless the theme is one of the campaign's and ``quote`` is
    one of its quotes now."""
    campaign = publication.campaign
    instrument = instrument_of(campaign_version(campaign))
    mine = {t.theme.id: t for t in campaign_themes(campaign, instrument)}
    if theme.id not in mine or quote not in theme.quotes:
        raise PublishRefused([rules.Problem("not_a_quote")])
    digest = rules.quote_digest(quote)
    if (theme.id, digest) in approved_digests(publication):
        return
    publication.approved_quotes.append(ApprovedQuote(
        theme_id=theme.id, digest=digest, approved_by_id=user.id if isinstance(user, User) else None))
    db.session.flush()
    _event("results.quote_approved", publication, user, ip, theme_id=theme.id, digest=digest)


def unapprove_quote(publication: Publication, theme_id: int, digest: str, *,
                    user: User | str | None, ip: str | None = None) -> None:
    """Withdraw an approval (nothing happens if there was none)."""
    for approval in list(publication.approved_quotes):
        if approval.theme_id == theme_id and approval.digest == digest:
            publication.approved_quotes.remove(approval)
            db.session.flush()
            _event("results.quote_unapproved", publication, user, ip, theme_id=theme_id,
                   digest=digest)
            return


def publish(publication: Publication, *, user: User | str | None, ip: str | None = None) -> None:
    """Put the page up; refused (PublishRefused, every problem listed) while
    ``publish_problems`` finds any. Publishing a published page changes nothing."""
    problems = publish_problems(publication.campaign, publication)
    if problems:
        raise PublishRefused(problems)
    if publication.state == "published":
        return
    publication.state = "published"
    publication.published_at = utcnow()
    publication.published_by_id = user.id if isinstance(user, User) else None
    db.session.flush()
    _event("results.published", publication, user, ip)


def unpublish(publication: Publication, *, user: User | str | None, ip: str | None = None) -> None:
    """Take the page down at once (the next request for it is a 404)."""
    if publication.state != "published":
        return
    publication.state = "unpublished"
    db.session.flush()
    _event("results.unpublished", publication, user, ip)
