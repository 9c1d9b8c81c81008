"""Deleting what a person asked to be deleted, and what has outlived its retention period.

Each function removes its target and every row that depends on it, explicitly (not by
trusting ON DELETE CASCADE, which some foreign keys here lack: responses -> campaigns,
segments -> theme assignments by way of sessions), records the audit event
("response.deleted", "response.contact_deleted", "session.deleted", "campaign.deleted",
"retention.run") and returns the counts of what went. The counts and a few ids and
names are the only record kept: nothing of the deleted text, answers or contact details
survives in the event.

Theme quotes repeat answers and transcript text word for word; they are dropped from
the live themes and from the stored runs of the same project when their source goes.

Like every operation, these flush and never commit: the caller's transaction commits
the deletion together with its audit event, or neither. The view and the command that
delete the same thing call the same function, so they record the same event.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from surveyapp import queries
from surveyapp.domain import erasure
from surveyapp.domain.answers import split_private
from surveyapp.extensions import db
from surveyapp.models import (Campaign, FocusGroup, HeldForm, Job, Participant,
                              PrivateAnswers, PromptNote, Response, ResponseDraft,
                              ResponseScore, Segment, Theme, ThemeAssignment, ThemeRun,
                              session_facilitators, utcnow)
from surveyapp.operations.audit import INTERNAL, Actor, record


def _recorded(action: str, target_type: str, target_id: int, project_id: int | None,
              about: dict, counts: dict[str, int], actor: Actor, ip: str | None) -> dict[str, int]:
    """Record the deletion (``about`` the target, read before it went, then the counts)
    and return the counts."""
    record(action, actor=actor, ip=ip, project_id=project_id, target_type=target_type,
           target_id=target_id, details={**about, **counts})
    return counts


def _count(statement) -> int:
    return db.session.execute(statement).rowcount or 0


def _response_ids(campaign_id: int):
    return sa.select(Response.id).where(Response.campaign_id == campaign_id).scalar_subquery()


def _scrub_quotes(project_id: int, kind: str, texts: set[str]) -> int:
    """Drop quotes taken from ``texts`` from the project's themes and runs of ``kind``
    ("question" or "prompt"); how many quotes went."""
    if not texts:
        return 0
    prefix = f"{kind}:{project_id}:"
    dropped = 0
    for theme in db.session.scalars(sa.select(Theme).where(Theme.source_key.startswith(prefix))):
        kept, gone = erasure.without_quotes_of(theme.quotes or [], texts)
        if gone:
            theme.quotes, dropped = kept, dropped + gone
    for run in db.session.scalars(sa.select(ThemeRun).where(ThemeRun.source_key.startswith(prefix))):
        changed, themes = False, []
        for found in run.themes or []:
            kept, gone = erasure.without_quotes_of(found.get("quotes") or [], texts)
            if gone:
                found, changed, dropped = {**found, "quotes": kept}, True, dropped + gone
            themes.append(found)
        if changed:
            run.themes = themes  # a new list: JSON columns notice assignment, not mutation
    db.session.flush()
    return dropped


def _delete_responses(where) -> dict[str, int]:
    """Delete the responses matching ``where`` (a clause on Response) and their rows."""
    ids = sa.select(Response.id).where(where).scalar_subquery()
    counts = {
        "theme_assignments": _count(sa.delete(ThemeAssignment).where(ThemeAssignment.response_id.in_(ids))),
        "scores": _count(sa.delete(ResponseScore).where(ResponseScore.response_id.in_(ids))),
        "contact_details": _count(sa.delete(PrivateAnswers).where(PrivateAnswers.response_id.in_(ids))),
        "drafts": _count(sa.delete(ResponseDraft).where(ResponseDraft.response_id.in_(ids))),
    }
    counts["responses"] = _count(sa.delete(Response).where(where))
    return counts


def delete_response(response: Response, *, actor: Actor = INTERNAL,
                    ip: str | None = None) -> dict[str, int]:
    """Delete one response with its contact details, draft, scores, theme assignments and
    the theme quotes taken from its answers."""
    texts = erasure.texts_of(response.answers or {})
    project_id, response_id = response.campaign.project_id, response.id
    about = {"campaign_id": response.campaign_id, "status": response.status}
    counts = _delete_responses(Response.id == response_id)
    counts["quotes"] = _scrub_quotes(project_id, "question", texts)
    db.session.expire_all()  # the ORM's copies of the deleted rows are stale
    return _recorded("response.deleted", "response", response_id, project_id, about, counts,
                     actor, ip)


def delete_contact_details(response: Response, *, actor: Actor = INTERNAL,
                           ip: str | None = None) -> dict[str, int]:
    """Delete a respondent's contact details (the answers to pii questions), keeping the
    rest of the response: its private answers row and the pii values in its draft."""
    about = {"campaign_id": response.campaign_id}
    project_id, response_id = response.campaign.project_id, response.id
    counts = {"contact_answers": len(response.private.answers) if response.private else 0}
    counts["rows"] = _count(sa.delete(PrivateAnswers).where(PrivateAnswers.response_id == response.id))
    draft = db.session.get(ResponseDraft, response.id)
    counts["draft_values"] = 0
    if draft is not None and draft.pages:
        instrument = queries.instruments.instrument_of(response.instrument_version)
        pages = {}
        for page_id, values in draft.pages.items():
            _, private = split_private(instrument, values)
            counts["draft_values"] += len(private)
            pages[page_id] = {k: v for k, v in values.items() if k not in private}
        draft.pages = pages
    db.session.flush()
    db.session.expire(response)
    return _recorded("response.contact_deleted", "response", response_id, project_id, about,
                     counts, actor, ip)


def delete_focus_group(focus_group: FocusGroup, *, actor: Actor = INTERNAL,
                   ip: str | None = None) -> dict[str, int]:
    """Delete a focus-group session: its roster (real names included), segments, notes,
    facilitator links, the theme assignments of its segments, and quotes of its text."""
    texts = {text for text in db.session.scalars(
        sa.select(Segment.text).where(Segment.session_id == focus_group.id)) if text}
    project_id, session_id = focus_group.project_id, focus_group.id
    about = {"guide": focus_group.guide_id, "wave": focus_group.wave, "status": focus_group.status}
    segment_ids = sa.select(Segment.id).where(Segment.session_id == session_id).scalar_subquery()
    counts = {
        "theme_assignments": _count(sa.delete(ThemeAssignment).where(ThemeAssignment.segment_id.in_(segment_ids))),
        "segments": _count(sa.delete(Segment).where(Segment.session_id == session_id)),
        "participants": _count(sa.delete(Participant).where(Participant.session_id == session_id)),
        "notes": _count(sa.delete(PromptNote).where(PromptNote.session_id == session_id)),
    }
    _count(sa.delete(session_facilitators).where(session_facilitators.c.session_id == session_id))
    counts["sessions"] = _count(sa.delete(FocusGroup).where(FocusGroup.id == session_id))
    counts["quotes"] = _scrub_quotes(project_id, "prompt", texts)
    db.session.expire_all()
    return _recorded("session.deleted", "session", session_id, project_id, about, counts, actor, ip)


def delete_campaign(campaign: Campaign, *, actor: Actor = INTERNAL,
                    ip: str | None = None) -> dict[str, int]:
    """Delete a campaign with every response to it (and their dependent rows), the theme
    runs and themes of its own questions, and the files of its finished export jobs.

    Themes across a project's campaigns keep running over what is left; quotes taken from
    the deleted answers are dropped from them.
    """
    texts: set[str] = set()
    for answers in db.session.scalars(sa.select(Response.answers).where(Response.campaign_id == campaign.id)):
        texts |= erasure.texts_of(answers or {})
    project_id, campaign_id = campaign.project_id, campaign.id
    about = {"code": campaign.code, "instrument": campaign.instrument_id, "wave": campaign.wave,
             "site_id": campaign.site_id}
    counts = _delete_responses(Response.campaign_id == campaign_id)
    own = f"question:{project_id}:{campaign_id}:"
    theme_ids = sa.select(Theme.id).where(Theme.source_key.startswith(own)).scalar_subquery()
    run_ids = sa.select(ThemeRun.id).where(ThemeRun.source_key.startswith(own)).scalar_subquery()
    counts["theme_assignments"] += _count(sa.delete(ThemeAssignment).where(
        sa.or_(ThemeAssignment.source_key.startswith(own), ThemeAssignment.theme_id.in_(theme_ids),
               ThemeAssignment.run_id.in_(run_ids))))
    counts["themes"] = _count(sa.delete(Theme).where(Theme.source_key.startswith(own)))
    counts["theme_runs"] = _count(sa.delete(ThemeRun).where(ThemeRun.source_key.startswith(own)))
    counts["export_files"] = _expire_exports(campaign_id)
    counts["campaigns"] = _count(sa.delete(Campaign).where(Campaign.id == campaign_id))
    counts["quotes"] = _scrub_quotes(project_id, "question", texts)
    db.session.expire_all()
    return _recorded("campaign.deleted", "campaign", campaign_id, project_id, about, counts,
                     actor, ip)


def _expire_exports(campaign_id: int) -> int:
    """Delete the result files of export jobs of this campaign and mark them expired."""
    from surveyapp.jobs.files import result_path
    removed = 0
    for job in db.session.scalars(sa.select(Job).where(Job.kind == "export")):
        filters = (job.parameters or {}).get("filters") or {}
        if filters.get("campaign_id") != campaign_id:
            continue
        path = result_path(job) if job.result_name else None
        if path is not None and path.exists():
            path.unlink()
            removed += 1
        if job.state == "done":
            job.state = "expired"
    db.session.flush()
    return removed


# ----------------------------------------------------------------------------- retention

def expire_contact_details(before: dt.datetime) -> int:
    """Delete the contact details of responses received (or, never submitted, started)
    before ``before``; how many responses lost theirs. Drafts' pii values go with them."""
    old = sa.select(Response.id).where(
        sa.func.coalesce(Response.received_at, Response.started_at) < before)
    ids = list(db.session.scalars(sa.select(PrivateAnswers.response_id).where(
        PrivateAnswers.response_id.in_(old.scalar_subquery()))))
    drafts = db.session.scalars(sa.select(Response).join(ResponseDraft, ResponseDraft.response_id == Response.id)
                                .where(Response.id.in_(old.scalar_subquery()))).all()
    for response in drafts:
        delete_contact_details(response)
    if ids:
        _count(sa.delete(PrivateAnswers).where(PrivateAnswers.response_id.in_(ids)))
    db.session.flush()
    return len(ids)


def expire_held_forms(before: dt.datetime) -> int:
    """Delete forms held for signed-out staff since before ``before``; how many went."""
    return _count(sa.delete(HeldForm).where(HeldForm.created_at < before))


def run_retention(config, now: dt.datetime | None = None, *, actor: Actor = INTERNAL,
                  ip: str | None = None) -> dict[str, int | None]:
    """Apply RETENTION_CONTACT_DAYS and RETENTION_HELD_DAYS from ``config``: the counts
    removed, None for a setting that is off (recorded as "retention.run" with the
    settings). Raises ValueError for a bad setting."""
    now = now or utcnow()
    contact = erasure.retention_cutoff(now, config.get("RETENTION_CONTACT_DAYS"))
    held = erasure.retention_cutoff(now, config.get("RETENTION_HELD_DAYS"))
    counts = {"contact_details": None if contact is None else expire_contact_details(contact),
              "held_forms": None if held is None else expire_held_forms(held)}
    record("retention.run", actor=actor, ip=ip, target_type="retention", details={
        **counts, "contact_days": config.get("RETENTION_CONTACT_DAYS"),
        "held_days": config.get("RETENTION_HELD_DAYS")})
    return counts
