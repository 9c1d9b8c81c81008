"""Focus-group and interview pages. Thin: parse the form, call operations, render.

An interview is a session whose guide is of kind ``interview``: the same pages, with one
participant; the list and the navigation tell the two apart by ``?kind=``.

Facilitators write the sessions of their projects; analysts read their projects'
finalised (redacted) sessions only, and never see a draft; admins do everything.
A finalised session is read-only except to admins.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from surveyapp import operations, queries
from surveyapp.access import may, may_in, require_project, requester, roles_required
from surveyapp.auth.held import take_held_form
from surveyapp.urls import database_id, safe_next
from surveyapp.domain import transcripts
from surveyapp.domain.speakers import Speakers, labels_for_new_speakers
from surveyapp.domain.answers import Context, form_to_raw, validate_questions
from surveyapp.domain.instruments import GUIDE_KINDS, Page, localise
from surveyapp.extensions import db
from surveyapp.i18n import LANGUAGE_NAMES, isolate, wave_name
from surveyapp.focus_groups import bp
from surveyapp.messages import describe
from surveyapp.focus_groups.forms import (AGE_BANDS, FIRST_ROWS, GENDERS, PARTICIPANT_ROLES, ImportForm, NoteForm,
                                          ParticipantAddForm, QuickEntryForm, SegmentForm,
                                          FocusGroupForm, choice_label, format_clock, parse_clock)
from surveyapp.models import FocusGroup, PromptNote, Segment, Site, User
from surveyapp.forms import ActionForm, DeleteForm, options

READ = ("admin", "facilitator", "analyst")
WRITE = ("admin", "facilitator")


# ----------------------------------------------------------------------------- helpers

def _focus_group_or_404(session_id: int) -> FocusGroup:
    """The session, or 404 unless the current user may read it (a draft is not there
    for an analyst: it may hold unredacted names)."""
    focus_group = db.session.get(FocusGroup, session_id)
    if focus_group is None or not queries.focus_groups.may_read_focus_group(current_user, focus_group):
        abort(404)
    return focus_group


def _editable(session_id: int) -> FocusGroup:
    """The session, or 404; 403 unless the current user may change it now: a facilitator
    of its project while it is a draft, or an admin."""
    focus_group = _focus_group_or_404(session_id)
    require_project(focus_group.project_id, "facilitator")
    if focus_group.status == "finalised" and not may("admin"):
        abort(403)
    return focus_group


def _editable_prompt(session_id: int, prompt_id: str):
    focus_group = _editable(session_id)
    return focus_group, _prompt_or_404(focus_group, prompt_id)


def _guide(focus_group: FocusGroup):
    return queries.instruments.instrument_of(focus_group.guide_version)


def _prompt_or_404(focus_group, prompt_id):
    return _guide(focus_group).prompt(prompt_id) or abort(404)


def known_speakers(focus_group: FocusGroup) -> list[str]:
    """Roster pseudonyms, then one facilitator label per facilitator (F1, F2, ...)."""
    facilitators = [f"F{n}" for n in range(1, max(1, len(focus_group.facilitators)) + 1)]
    return [p.label for p in focus_group.participants] + facilitators


def _speakers(focus_group: FocusGroup) -> Speakers:
    """The labels, and the roster's real names, that transcripts resolve speakers by."""
    return Speakers.of(known_speakers(focus_group),
                       {p.real_name: p.label for p in focus_group.participants if p.real_name})


def _t(focus_group):
    guide = _guide(focus_group)
    return lambda text: localise(text, focus_group.language, guide.default_language)


@bp.context_processor
def _participant_labels():
    """Roster pages show age band, role and gender labels, never the stored codes; a
    session says whether it is an interview (its guide's kind)."""
    return {"role_label": lambda code: choice_label(PARTICIPANT_ROLES, code) if code else "—",
            "gender_label": lambda code: choice_label(GENDERS, code) if code else "—",
            "age_label": lambda code: choice_label(AGE_BANDS, code) if code else "—",
            "is_interview": lambda focus_group: focus_group.guide_version.kind == "interview"}


def _kind_asked() -> str | None:
    """The kind a page was asked for (``?kind=interview``), if it is one."""
    kind = request.values.get("kind")
    return kind if kind in GUIDE_KINDS else None


def _too_many_message() -> str:
    return _("An interview has one participant. Record the interviewer as F1, and a "
             "conversation with several people as a focus group.")


# ----------------------------------------------------------------------------- focus groups

@bp.get("/")
@roles_required(*READ)
def sessions():
    kind = _kind_asked()
    filters = {"site_id": request.args.get("site", type=database_id), "wave": request.args.get("wave"),
               "guide_id": request.args.get("guide")}
    guides = [g for k in ((kind,) if kind else GUIDE_KINDS) for g in queries.instruments.latest_versions(k)]
    return render_template("focus_groups/list.html", kind=kind,
                           focus_groups=queries.focus_groups.recent_focus_groups(
                               user=current_user, kind=kind, **filters),
                           sites=queries.projects.all_sites(queries.projects.scope_of(current_user)),
                           guides=guides, waves=queries.focus_groups.focus_group_waves(current_user),
                           filters=filters)


def _focus_group_form(held=None) -> FocusGroupForm:
    """The form, bound to the request, or to text held while the login had expired; a new
    one (GET) is for ``?kind=`` (a focus group unless it says interview), with that kind's
    first roster rows (P1, P2 for a group; P1 for an interview)."""
    form = FocusGroupForm(formdata=held) if held is not None else FocusGroupForm()
    if request.method == "GET" and held is None:
        form.kind.data = _kind_asked() or "focus_group"
    if form.kind.data not in GUIDE_KINDS:
        form.kind.data = "focus_group"
    if form.kind.data == "interview":   # the same fields, named for one person
        form.facilitators.label.text = _("Interviewer")
        form.language.label.text = _("Language of the interview")
        form.consent_given.label.text = _("The person interviewed gave consent after hearing "
                                          "the consent script")
    guides = queries.instruments.latest_versions(form.kind.data)
    form.guide.choices = options((g.instrument_id, g.title) for g in guides)
    # A session is made in a project the user facilitates; its site says which.
    scope = queries.projects.scope_of(current_user, "facilitator")
    projects = queries.projects.projects(scope)
    several = len(projects) > 1
    form.site.choices = options((s.id, f"{s.name} ({s.project.name})" if several else s.name)
                                for s in queries.projects.all_sites(scope))
    # Every project's waves, in the projects' order; the view checks the site's project has it.
    form.wave.choices = options((w, wave_name(w)) for w in dict.fromkeys(
        w for p in projects for w in p.waves))
    languages = sorted({lang for g in guides for lang in queries.instruments.instrument_of(g).languages})
    form.language.choices = options((lang, LANGUAGE_NAMES.get(lang, lang)) for lang in languages)
    form.facilitators.choices = options(
        (u.id, u.email) for u in queries.focus_groups.focus_group_facilitators_for(current_user))
    if held is None and request.method == "GET":
        while len(form.participants) < FIRST_ROWS[form.kind.data]:
            form.participants.append_entry()
        for index, row in enumerate(form.participants):
            row.pseudonym.data = row.pseudonym.data or f"P{index + 1}"
        if current_user.id in {choice.value for choice in form.facilitators.choices}:
            form.facilitators.data = [current_user.id]
    return form


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*WRITE)
def new_session():
    form = _focus_group_form(take_held_form())
    if request.method == "POST" and form.add_row.data and form.kind.data != "interview":
        # "Add a participant" without JavaScript: the same form again, one row longer,
        # with everything typed so far; nothing is saved or checked yet.
        form.add_participant_row()
        return render_template("focus_groups/new.html", form=form)
    if request.method == "POST" and form.validate_on_submit():
        roster = [operations.focus_groups.ParticipantInfo(
            label=row.pseudonym.data.strip().upper(), age_band=row.age_band.data, gender=row.gender.data,
            role=row.role.data, real_name=(row.real_name.data or "").strip())
            for row in form.filled_rows()]
        labels = [p.label for p in roster]
        version = queries.instruments.latest_version(form.guide.data)
        site = db.session.get(Site, form.site.data) or abort(400)
        require_project(site.project_id, "facilitator")
        limit = operations.focus_groups.PARTICIPANT_LIMITS.get(version.kind)
        if len(labels) != len(set(labels)):
            form.participants.errors.append(_("Each pseudonym may appear only once."))
        elif limit is not None and len(roster) > limit:
            form.participants.errors.append(_too_many_message())
        elif form.wave.data not in site.project.waves:
            form.wave.errors.append(_("This wave is not one of the waves of %(project)s.",
                                      project=isolate(site.project.name)))
        else:
            facilitators = db.session.scalars(sa.select(User).where(User.id.in_(form.facilitators.data))).all()
            focus_group = operations.transaction(lambda: operations.focus_groups.create_focus_group(
                guide_version=version, site=site, wave=form.wave.data, held_on=form.held_on.data,
                place=form.place.data or "", language=form.language.data, facilitators=facilitators,
                participants=roster, consent_given=form.consent_given.data,
                consent_note=form.consent_note.data or "", created_by=current_user, **requester()))
            return redirect(url_for(".session", session_id=focus_group.id))
    return render_template("focus_groups/new.html", form=form), (422 if form.errors else 200)


@bp.get("/<int:session_id>")
@roles_required(*READ)
def session(session_id):
    return _render_focus_group(_focus_group_or_404(session_id))


def _render_focus_group(focus_group, *, add_form=None, status=200):
    guide = _guide(focus_group)
    counts = dict(db.session.execute(sa.select(Segment.prompt_id, sa.func.count()).where(
        Segment.session_id == focus_group.id).group_by(Segment.prompt_id)).all())
    return render_template("focus_groups/session.html", focus_group=focus_group, guide=guide, t=_t(focus_group),
                           counts=counts, add_form=add_form or ParticipantAddForm(formdata=None),
                           next_label=operations.focus_groups.next_participant_label(focus_group),
                           roster_full=operations.focus_groups.roster_is_full(focus_group),
                           action=ActionForm(), can_write=may_in(focus_group.project_id, "facilitator")
                           and (focus_group.status == "draft" or may("admin"))), status


@bp.post("/<int:session_id>/participants")
@roles_required(*WRITE)
def add_participant(session_id):
    focus_group = _editable(session_id)
    form = ParticipantAddForm()
    label = (form.pseudonym.data or "").strip().upper() or operations.focus_groups.next_participant_label(focus_group)
    if form.validate_on_submit():
        if label in {p.label for p in focus_group.participants}:
            flash(_("%(label)s is in the roster already.", label=isolate(label)))
        elif operations.focus_groups.roster_is_full(focus_group):
            flash(_too_many_message())
            return _render_focus_group(focus_group, status=422)
        else:
            info = operations.focus_groups.ParticipantInfo(
                label=label, age_band=form.age_band.data, gender=form.gender.data,
                role=form.role.data, real_name=(form.real_name.data or "").strip())
            operations.transaction(lambda: operations.focus_groups.add_participant(
                focus_group, info, **requester()))
            flash(_("%(label)s added to the roster.", label=isolate(label)))
    elif form.errors and not form.csrf_token.errors:
        # Say what is wrong with the entry, on the roster, rather than drop it silently.
        return _render_focus_group(focus_group, add_form=form, status=422)
    return redirect(safe_next(request.form.get("back")) or url_for(".session", session_id=focus_group.id))


@bp.route("/<int:session_id>/details", methods=["GET", "POST"])
@roles_required(*WRITE)
def session_details(session_id):
    """The guide's session_fields, answered like survey questions, in the same validation."""
    focus_group = _editable(session_id)
    guide = _guide(focus_group)
    form = ActionForm()
    errors = {}
    values = focus_group.fields
    if request.method == "POST":
        page = Page("session", None, guide.session_fields)
        raw = form_to_raw(page, request.form)
        values = {**focus_group.fields, **raw}
        answers, problems = validate_questions(guide.session_fields, raw, {},
                                               Context(focus_group.site.name, focus_group.wave, focus_group.language))
        if form.validate_on_submit() and not problems:
            operations.transaction(lambda: operations.focus_groups.set_focus_group_fields(
                focus_group, answers, **requester()))
            flash(_("Session details saved."))
            return redirect(url_for(".session", session_id=focus_group.id))
        errors = {p.key: describe(p, focus_group.language, guide.default_language) for p in problems}
    return render_template("focus_groups/details.html", focus_group=focus_group, guide=guide, t=_t(focus_group),
                           values=values, errors=errors, form=form), (422 if errors else 200)


# ----------------------------------------------------------------------------- transcription

SEGMENTS_PER_PAGE = 100   # a 30,000-line session would be a 38 MB page in one piece


def _segment_count(session_id, prompt_id) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Segment).where(
        Segment.session_id == session_id, Segment.prompt_id == prompt_id))


def _page_number(wanted: str | None, total: int) -> int:
    """The 1-based page asked for (``"last"``, a number, or nothing: the first), kept in range."""
    pages = max(1, -(-total // SEGMENTS_PER_PAGE))
    if wanted == "last":
        return pages
    number = int(wanted) if wanted and wanted.isdigit() else 1
    return min(max(number, 1), pages)


def _segments(session_id, prompt_id, page: int):
    return db.session.scalars(sa.select(Segment).where(
        Segment.session_id == session_id, Segment.prompt_id == prompt_id)
        .order_by(Segment.position, Segment.id)
        .offset((page - 1) * SEGMENTS_PER_PAGE).limit(SEGMENTS_PER_PAGE)).all()


def _page_of(segment: Segment) -> int:
    """The page that shows ``segment``."""
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Segment).where(
        Segment.session_id == segment.session_id, Segment.prompt_id == segment.prompt_id,
        sa.or_(Segment.position < segment.position,
               sa.and_(Segment.position == segment.position, Segment.id < segment.id))))
    return before // SEGMENTS_PER_PAGE + 1


def _render_prompt(focus_group, prompt, *, segment_form=None, quick_form=None, import_form=None,
                   note_form=None, issues=(), refusal=None, edit_id=None, page=None, status=200):
    speakers = known_speakers(focus_group)
    total = _segment_count(focus_group.id, prompt.id)
    page = _page_number(page or request.args.get("page"), total)
    segment_form = segment_form or SegmentForm(formdata=None, client_id=str(uuid.uuid4()))
    segment_form.speaker.choices = options((s, s) for s in speakers)
    if not segment_form.client_id.data:
        segment_form.client_id.data = str(uuid.uuid4())
    quick_form = quick_form or QuickEntryForm(formdata=None, batch_id=str(uuid.uuid4()))
    import_form = import_form or ImportForm(formdata=None, batch_id=str(uuid.uuid4()))
    note = db.session.get(PromptNote, (focus_group.id, prompt.id))
    note_form = note_form or NoteForm(formdata=None, notes=note.text if note else "")
    guide = _guide(focus_group)
    edit_form = None
    if edit_id is not None:
        segment = db.session.get(Segment, edit_id)
        if segment is not None and segment.session_id == focus_group.id:
            edit_form = SegmentForm(formdata=None, speaker=segment.speaker, text=segment.text,
                                    clock=format_clock(segment.start_seconds))
            edit_form.speaker.choices = options((s, s) for s in dict.fromkeys(speakers + [segment.speaker]))
    can_write = may_in(focus_group.project_id, "facilitator") and (
        focus_group.status == "draft" or may("admin"))
    if request.method == "GET":  # a post's form shown again is not a new reading
        shown = max(0, min(SEGMENTS_PER_PAGE, total - (page - 1) * SEGMENTS_PER_PAGE))
        operations.transaction(lambda: operations.audit.viewed(
            "transcript.read", focus_group, scope=prompt.id, count=shown, **requester()))
    return render_template(
        "focus_groups/prompt.html", focus_group=focus_group, guide=guide, prompt=prompt, t=_t(focus_group),
        segments=_segments(focus_group.id, prompt.id, page), page=page, total=total,
        per_page=SEGMENTS_PER_PAGE, segment_form=segment_form, quick_form=quick_form,
        import_form=import_form, note_form=note_form, issues=issues, refusal=refusal, edit_id=edit_id,
        edit_form=edit_form, action=ActionForm(), can_write=can_write, clock=format_clock,
        prompts=guide.prompts, speakers=speakers, add_form=ParticipantAddForm(formdata=None),
        next_label=operations.focus_groups.next_participant_label(focus_group)), status


@bp.get("/<int:session_id>/prompts/<prompt_id>")
@roles_required(*READ)
def prompt(session_id, prompt_id):
    focus_group = _focus_group_or_404(session_id)
    prompt = _prompt_or_404(focus_group, prompt_id)
    held = take_held_form()
    forms = {}
    if held is not None:  # a post held while the login had expired: show its text again
        kind = held.get("form")
        forms = {"segment": {"segment_form": SegmentForm(formdata=held)},
                 "quick": {"quick_form": QuickEntryForm(formdata=held)},
                 "note": {"note_form": NoteForm(formdata=held)}}.get(kind, {})
        flash(_("You were signed out before this was saved. Here it is again: please save it now."))
    return _render_prompt(focus_group, prompt, edit_id=request.args.get("edit", type=database_id), **forms)


@bp.post("/<int:session_id>/prompts/<prompt_id>/segments")
@roles_required(*WRITE)
def add_segment(session_id, prompt_id):
    focus_group, prompt = _editable_prompt(session_id, prompt_id)
    form = SegmentForm()
    form.speaker.choices = options((s, s) for s in known_speakers(focus_group))
    if form.validate_on_submit():
        try:
            client_id = uuid.UUID(form.client_id.data)
        except (TypeError, ValueError):
            client_id = uuid.uuid4()
        operations.transaction(lambda: operations.focus_groups.add_segment(
            focus_group, prompt.id, speaker=form.speaker.data, text=form.text.data,
            start_seconds=parse_clock(form.clock.data), client_id=client_id, **requester()))
        return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt.id, saved="segment",
                                page="last") + "#add")
    # Invalid or expired token: the typed text comes back in the form, with a fresh token.
    return _render_prompt(focus_group, prompt, segment_form=form, status=422)


def _segment_or_404(focus_group, segment_id) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None or segment.session_id != focus_group.id:
        abort(404)
    return segment


@bp.post("/<int:session_id>/segments/<int:segment_id>")
@roles_required(*WRITE)
def edit_segment(session_id, segment_id):
    focus_group = _editable(session_id)
    segment = _segment_or_404(focus_group, segment_id)
    prompt = _prompt_or_404(focus_group, segment.prompt_id)
    form = SegmentForm()
    form.speaker.choices = options((s, s) for s in dict.fromkeys(known_speakers(focus_group) + [segment.speaker]))
    if form.validate_on_submit():
        operations.transaction(lambda: operations.focus_groups.edit_segment(
            segment, speaker=form.speaker.data, text=form.text.data,
            start_seconds=parse_clock(form.clock.data), **requester()))
        return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt.id,
                                page=_page_of(segment)) + f"#s{segment.id}")
    return _render_prompt(focus_group, prompt, edit_id=segment.id, page=str(_page_of(segment)), status=422)


@bp.post("/<int:session_id>/segments/<int:segment_id>/<any(up, down, delete):action>")
@roles_required(*WRITE)
def change_segment(session_id, segment_id, action):
    focus_group = _editable(session_id)
    segment = _segment_or_404(focus_group, segment_id)
    prompt_id = segment.prompt_id
    page = _page_of(segment)
    if ActionForm().validate_on_submit():
        if action == "delete":
            operations.transaction(
                lambda: operations.focus_groups.delete_segment(segment, **requester()))
            flash(_("Segment deleted."))
        else:
            operations.transaction(lambda: operations.focus_groups.move_segment(
                segment, -1 if action == "up" else 1, **requester()))
    if action == "delete":   # back to the page it was on (the last one, if it emptied)
        return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt_id, page=page))
    return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt_id,
                            page=_page_of(segment)) + f"#s{segment_id}")


def _issues_to_show(form, result: transcripts.ParseResult, *,
                    refused: bool = False) -> list[transcripts.ParseIssue]:
    """What stopped the save: with "add unknown speakers" ticked, unknown speakers are
    not the problem, so only the other issues are named; unless adding them was
    ``refused`` (an interview's one participant), when they are the problem again."""
    issues = list(result.issues)
    if form.add_unknown.data and not refused:
        issues = [i for i in issues if i.kind != "unknown_speaker"]
    return issues or [transcripts.ParseIssue(1, "no_speaker", None, "")]


def _save_parsed(focus_group, prompt, form, result: transcripts.ParseResult):
    """Save parsed segments, or None (nothing saved) when some lines need checking;
    TooManyParticipants (nothing saved) when the new speakers do not fit an interview."""
    unknown = {i.speaker for i in result.issues if i.kind == "unknown_speaker" and i.speaker}
    blocking = [i for i in result.issues if i.kind != "unknown_speaker"]
    if blocking or (unknown and not form.add_unknown.data) or not result.segments:
        return None
    try:
        batch = uuid.UUID(form.batch_id.data)
    except (TypeError, ValueError):
        batch = uuid.uuid4()
    planned = labels_for_new_speakers(unknown, known_speakers(focus_group))
    parsed = transcripts.relabel(result.segments, {old: new.label for old, new in planned.items()})

    speakers = [operations.focus_groups.ParticipantInfo(label=new.label, real_name=new.real_name)
                for new in planned.values()]
    return operations.transaction(lambda: operations.focus_groups.import_segments(
        focus_group, prompt.id, parsed, batch, new_speakers=speakers, **requester()))


@bp.post("/<int:session_id>/prompts/<prompt_id>/quick")
@roles_required(*WRITE)
def quick_entry(session_id, prompt_id):
    focus_group, prompt = _editable_prompt(session_id, prompt_id)
    form = QuickEntryForm()
    if not form.validate_on_submit():
        return _render_prompt(focus_group, prompt, quick_form=form, status=422)
    result = transcripts.parse_quick_entry(form.lines.data, _speakers(focus_group))
    try:
        saved = _save_parsed(focus_group, prompt, form, result)
    except operations.focus_groups.TooManyParticipants:
        return _render_prompt(focus_group, prompt, quick_form=form, refusal=_too_many_message(),
                              issues=_issues_to_show(form, result, refused=True), status=422)
    if saved is None:
        return _render_prompt(focus_group, prompt, quick_form=form,
                              issues=_issues_to_show(form, result), status=422)
    flash(ngettext("%(num)d segment saved.", "%(num)d segments saved.", saved))
    return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt.id, saved="quick",
                            page="last"))


@bp.post("/<int:session_id>/prompts/<prompt_id>/import")
@roles_required(*WRITE)
def import_file(session_id, prompt_id):
    focus_group, prompt = _editable_prompt(session_id, prompt_id)
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_prompt(focus_group, prompt, import_form=form, status=422)
    upload = form.file.data
    text = transcripts.decode_upload(upload.read())
    speakers = _speakers(focus_group)
    try:
        if upload.filename.lower().endswith(".vtt"):
            result = transcripts.parse_webvtt(text, speakers)
        else:
            result = transcripts.parse_quick_entry(text, speakers)
    except ValueError as error:
        form.file.errors.append(str(error))
        return _render_prompt(focus_group, prompt, import_form=form, status=422)
    try:
        saved = _save_parsed(focus_group, prompt, form, result)
    except operations.focus_groups.TooManyParticipants:
        saved, refusal = None, _too_many_message()
    else:
        refusal = None
    if saved is None:
        # Show what was read as quick-entry text, to fix and save from there: a text file
        # as it is, a WebVTT file converted (its real names already pseudonyms).
        if not upload.filename.lower().endswith(".vtt"):
            shown = result
        else:
            shown = transcripts.as_quick_entry(result, speakers)
            text = shown.quick_text
        quick = QuickEntryForm(formdata=None, batch_id=str(uuid.uuid4()), lines=text,
                               add_unknown=form.add_unknown.data)
        return _render_prompt(focus_group, prompt, quick_form=quick, refusal=refusal,
                              issues=_issues_to_show(form, shown, refused=refusal is not None),
                              status=422)
    flash(ngettext("%(num)d segment saved.", "%(num)d segments saved.", saved))
    return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt.id, page="last"))


@bp.post("/<int:session_id>/prompts/<prompt_id>/notes")
@roles_required(*WRITE)
def save_notes(session_id, prompt_id):
    focus_group, prompt = _editable_prompt(session_id, prompt_id)
    form = NoteForm()
    if form.validate_on_submit():
        operations.transaction(lambda: operations.focus_groups.save_prompt_note(
            focus_group, prompt.id, form.notes.data or "", **requester()))
        flash(_("Notes saved."))
        return redirect(url_for(".prompt", session_id=focus_group.id, prompt_id=prompt.id, saved="notes") + "#notes")
    return _render_prompt(focus_group, prompt, note_form=form, status=422)


# ----------------------------------------------------------------------------- redaction, finalising

def _findings(focus_group):
    roster = transcripts.RosterNames({p.real_name: p.label for p in focus_group.participants if p.real_name})
    found = []
    for segment in db.session.scalars(sa.select(Segment).where(Segment.session_id == focus_group.id)
                                      .order_by(Segment.prompt_id, Segment.position)):
        for index, finding in enumerate(transcripts.find_personal_data(
                segment.text, roster, language=focus_group.language)):
            found.append({"key": f"{segment.id}:{finding.start}:{finding.end}", "segment": segment,
                          "finding": finding, "index": index})
    return found


@bp.route("/<int:session_id>/redact", methods=["GET", "POST"])
@roles_required(*WRITE)
def redact(session_id):
    """Likely personal data in the transcript, each with a replacement to accept or skip."""
    focus_group = _editable(session_id)
    found = _findings(focus_group)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        chosen = set(request.form.getlist("redact"))
        current = {item["key"]: item for item in found}
        by_segment: dict[int, list] = {}
        stale = 0
        for key in chosen:
            item = current.get(key)
            seen = request.form.get(f"seen-{key.split(':')[0]}")
            # The page showed the segment as it was: if it was edited (or deleted) since,
            # its offsets no longer point at what was ticked, so nothing is replaced.
            if item is None or seen != transcripts.text_digest(item["segment"].text):
                stale += 1
                continue
            replacement = request.form.get(f"with-{key}", item["finding"].suggestion)
            finding = item["finding"]
            by_segment.setdefault(item["segment"].id, []).append(transcripts.Finding(
                finding.kind, finding.text, finding.start, finding.end,
                (replacement or "[redacted]").strip()[:100]))
        segments_by_id = {item["segment"].id: item["segment"] for item in found}

        def work():
            for segment_id, findings in by_segment.items():
                segment = segments_by_id[segment_id]
                operations.focus_groups.redact_segment(
                    segment, transcripts.apply_redactions(segment.text, findings),
                    kinds=[finding.kind for finding in findings], **requester())
        operations.transaction(work)
        if by_segment:
            flash(_("Replacements applied."))
        if stale:
            flash(ngettext(
                "%(num)d replacement was not applied: its segment was changed after this page "
                "was opened. Please check it again below.",
                "%(num)d replacements were not applied: their segments were changed after this "
                "page was opened. Please check them again below.", stale))
        return redirect(url_for(".redact", session_id=focus_group.id))
    return render_template("focus_groups/redact.html", focus_group=focus_group, found=found, form=form,
                           guide=_guide(focus_group), t=_t(focus_group), digest=transcripts.text_digest)


@bp.post("/<int:session_id>/finalise")
@roles_required(*WRITE)
def finalise(session_id):
    focus_group = _editable(session_id)
    if ActionForm().validate_on_submit():
        if request.form.get("reviewed") != "1" and _findings(focus_group):
            # Likely personal data is shown before a session can be finalised.
            flash(_("Please review the possible personal data below before finalising."))
            return redirect(url_for(".redact", session_id=focus_group.id))
        operations.transaction(
            lambda: operations.focus_groups.finalise_focus_group(focus_group, **requester()))
        flash(_("The session is finalised: it is now read-only."))
    return redirect(url_for(".session", session_id=focus_group.id))


@bp.post("/<int:session_id>/reopen")
@roles_required("admin")
def reopen(session_id):
    focus_group = _focus_group_or_404(session_id)
    if ActionForm().validate_on_submit():
        operations.transaction(
            lambda: operations.focus_groups.reopen_focus_group(focus_group, **requester()))
        flash(_("The session is open for editing again."))
    return redirect(url_for(".session", session_id=focus_group.id))


@bp.route("/<int:session_id>/delete", methods=["GET", "POST"])
@roles_required("admin")
def delete_session(session_id):
    """Confirm, then delete a session with its roster, transcript and notes (admins only)."""
    focus_group = _focus_group_or_404(session_id)
    form = DeleteForm()
    if form.validate_on_submit():
        operations.transaction(lambda: operations.deletion.delete_focus_group(focus_group, **requester()))
        flash(_("Session deleted."))
        return redirect(url_for(".sessions"))
    segments = db.session.scalar(sa.select(sa.func.count()).select_from(Segment).where(
        Segment.session_id == focus_group.id))
    goes = [ngettext("%(num)d transcript segment", "%(num)d transcript segments", segments),
            ngettext("%(num)d participant in the roster (real names included)",
                     "%(num)d participants in the roster (real names included)",
                     len(focus_group.participants)),
            _("the facilitator's notes, and the theme assignments and quotes of this transcript")]
    return render_template(
        "staff/confirm_delete.html", form=form, back=url_for(".session", session_id=focus_group.id),
        heading=_("Delete this interview?") if focus_group.guide_version.kind == "interview"
        else _("Delete this focus-group session?"),
        explanation=_("%(site)s, %(day)s. Deleting it removes:", site=isolate(focus_group.site.name),
                      day=focus_group.held_on.isoformat()),
        goes=goes), 422 if request.method == "POST" else 200
