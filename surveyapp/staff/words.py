"""Words, not codes, on the staff pages: roles, languages, questionnaires and the audit
log's actions and details, in the page's language (issue 23 item 5).

Template globals: ``role_name``, ``language_name``, ``instrument_title``, and for the
audit page ``audit_action``, ``audit_actions`` (the filter's choices), ``audit_target``
and ``audit_details``. Each falls back to the code it was given when it does not know it
(a new action, a language babel lacks), so a page never fails for want of a word. The
audit CSV keeps the codes and the details as recorded: it is read by programs.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from surveyapp import queries
from surveyapp.domain import words
from surveyapp.domain.instruments import localise
from surveyapp.extensions import db
from surveyapp.i18n import wave_name
from surveyapp.models import FocusGroup, InstrumentVersion
from surveyapp.staff import bp

ROLES = {"admin": _l("Admin"), "facilitator": _l("Facilitator"), "analyst": _l("Analyst"),
         "partner": _l("Partner (aggregates only)")}


def _page_language() -> str:
    return getattr(g, "language", None) or str(get_locale() or "en")


@bp.app_template_global()
def role_name(role: str) -> str:
    """A role as the staff read it: "partner" -> "Partner (aggregates only)"."""
    return str(ROLES.get(role, role))


@bp.app_template_global()
def language_name(code: str) -> str:
    """A language's name in the page's language ("ar" -> "Arabic", "Arabe", "العربية")."""
    return words.language_name(code, _page_language())


@bp.app_template_global()
def instrument_title(instrument_id: str) -> str:
    """A questionnaire's or guide's title in the page's language (its id if none is stored)."""
    return queries.instruments.titles([instrument_id], _page_language())[instrument_id]


# ----------------------------------------------------------------------------- the audit log

ACTIONS = {
    "auth.signed_in": _l("Signed in"),
    "auth.sign_in_failed": _l("Sign-in refused"),
    "auth.signed_out": _l("Signed out everywhere"),
    "user.created": _l("Account created"),
    "user.updated": _l("Account changed"),
    "user.password_changed": _l("Password changed"),
    "project.created": _l("Project created"),
    "project.waves_changed": _l("Waves changed"),
    "project.member_added": _l("Role given in the project"),
    "project.member_removed": _l("Role taken away in the project"),
    "site.created": _l("Site added"),
    "campaign.created": _l("Campaign created"),
    "campaign.opened": _l("Campaign opened"),
    "campaign.closed": _l("Campaign closed"),
    "campaign.deleted": _l("Campaign deleted"),
    "instrument.loaded": _l("Questionnaire loaded"),
    "response.deleted": _l("Response deleted"),
    "response.contact_deleted": _l("Contact details deleted"),
    "panel.unlinked": _l("Response unlinked from its panel"),
    "export.started": _l("Export started"),
    "export.downloaded": _l("Export downloaded"),
    "export.written": _l("Export written from the command line"),
    "audit.exported": _l("Audit log downloaded"),
    "session.created": _l("Focus group created"),
    "session.participant_added": _l("Participant added"),
    "session.details_edited": _l("Focus-group details changed"),
    "session.notes_edited": _l("Notes changed"),
    "session.finalised": _l("Focus group finalised"),
    "session.reopened": _l("Focus group reopened"),
    "session.deleted": _l("Focus group deleted"),
    "segment.added": _l("Transcript segment added"),
    "segment.imported": _l("Transcript imported"),
    "segment.edited": _l("Transcript segment changed"),
    "segment.deleted": _l("Transcript segment deleted"),
    "segment.moved": _l("Transcript segment moved"),
    "segment.redacted": _l("Personal data replaced"),
    "theme.run_started": _l("Theme run started"),
    "theme.run": _l("Themes found"),
    "theme.assigned": _l("Theme set for a text"),
    "theme.renamed": _l("Theme renamed"),
    "theme.merged": _l("Themes merged"),
    "theme.split": _l("Theme split"),
    "theme.codebook_applied": _l("Codebook applied"),
    "codebook.theme_promoted": _l("Theme added to the codebook"),
    "coding.sample_drawn": _l("Double-coding sample drawn"),
    "coding.coded": _l("Double-coding codes saved"),
    "coding.finished": _l("Coder finished a sample"),
    "coding.resolved": _l("Disagreement settled"),
    "coding.proposals_accepted": _l("Proposals accepted"),
    "results.next_steps_set": _l("“What happens next” saved"),
    "results.quote_approved": _l("Quote approved"),
    "results.quote_unapproved": _l("Quote approval withdrawn"),
    "results.published": _l("Results published"),
    "results.unpublished": _l("Results unpublished"),
    "retention.run": _l("Retention run"),
    "database.backed_up": _l("Database backed up"),
    "database.restored": _l("Database restored"),
    "demo.seeded": _l("Demo data made"),
}

FIELDS = {
    "roles": _l("Roles"), "role": _l("Role"), "admin": _l("Admin"), "active": _l("Account active"),
    "email": _l("Email"), "password_reset": _l("Password reset"), "waves": _l("Waves"),
    "wave": _l("Wave"), "code": _l("Campaign"), "campaign_id": _l("Campaign"),
    "project_id": _l("Project"), "instrument": _l("Questionnaire"), "guide": _l("Guide"),
    "version": _l("Version"), "sites": _l("Sites"), "site_id": _l("Site"),
    "language": _l("Language"), "codes": _l("Answers as"), "status": _l("Status"),
    "from": _l("Before"), "format": _l("Format"), "pii": _l("Contact details"),
    "aggregates_only": _l("Aggregates only"), "kind": _l("Kind"), "rows": _l("Rows"),
    "participants": _l("Participants"), "label": _l("Name"), "prompt": _l("Prompt"),
    "session": _l("Focus group"), "segments": _l("Segments"), "new_speakers": _l("New speakers"),
    "direction": _l("Moved"), "replacements": _l("Replacements"), "kinds": _l("Replaced"),
    "reason": _l("Reason"), "source": _l("Texts of"), "k": _l("Number of themes"),
    "texts": _l("Texts"), "item": _l("Text"), "merged": _l("Merged theme"), "theme": _l("Theme"),
    "theme_id": _l("Theme"), "items": _l("Texts"), "matched": _l("Texts matched"),
    "keywords": _l("Keywords"), "campaigns": _l("Campaigns"),
    "responses_per_campaign": _l("Responses per campaign"), "bytes": _l("Size (bytes)"),
    "forced": _l("Forced"), "theme_assignments": _l("Theme assignments"), "scores": _l("Scores"),
    "contact_details": _l("Contact details"), "contact_answers": _l("Contact answers"),
    "drafts": _l("Drafts"), "notes": _l("Notes"), "responses": _l("Responses"),
    "quotes": _l("Quotes"), "action": _l("Action starts with"), "actor": _l("User"),
    "since": _l("From"), "until": _l("To"), "sessions": _l("Focus groups"),
    "size": _l("Number of texts"), "seed": _l("Seed"), "coders": _l("Coders"),
    "coded": _l("Texts coded"), "all_done": _l("Every coder finished"),
    "accepted": _l("Proposals accepted"), "min_confidence": _l("Lowest confidence accepted"),
}
TARGETS = {
    "user": _l("Account"), "project": _l("Project"), "site": _l("Site"),
    "campaign": _l("Campaign"), "instrument": _l("Questionnaire"), "response": _l("Response"),
    "session": _l("Focus group"), "segment": _l("Transcript segment"), "theme": _l("Theme"),
    "theme_run": _l("Theme run"), "codebook": _l("Codebook"), "job": _l("Export"),
    "export": _l("Export"), "audit_log": _l("Audit log"), "backup": _l("Backup"),
    "retention": _l("Retention"), "coding_sample": _l("Double-coding sample"),
}
# Opaque to a reader (a content hash, a quote's digest): left out of the page; the CSV
# keeps every detail as recorded.
HIDDEN = frozenset({"hash", "digest"})

STATUSES = {"complete": _l("complete"), "partial": _l("partial"), "all": _l("all"),
            "open": _l("open"), "closed": _l("closed"), "draft": _l("draft"),
            "finalised": _l("finalised")}
REDACTIONS = {"email": _l("email"), "phone": _l("phone number"),
              "roster_name": _l("name in the roster"), "capitalised_name": _l("possible name")}
REASONS = {"wrong_credentials": _l("wrong email or password"), "inactive": _l("account inactive")}
FORMATS = {"xlsx": _l("Excel workbook"), "csv": _l("CSV files (zip)")}
DIRECTIONS = {"up": _l("up"), "down": _l("down")}


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def _source(key: str) -> str:
    """A theme source key ("question:3:*:community-capacity:safer_ideas") as the question's
    or prompt's words; the key itself if it cannot be read."""
    parts = key.split(":")
    if len(parts) != 5:
        return key
    kind, _project, _campaign, instrument_id, item_id = parts
    version = queries.instruments.latest_version(instrument_id)
    if version is None:
        return key
    instrument = queries.instruments.instrument_of(version)
    items = {p.id: p.label for p in instrument.prompts} if kind == "prompt" else {
        q.id: q.label for q in instrument.questions}
    language = instrument.language_for(_page_language())
    label = items.get(item_id)
    if label is None:  # a question since removed: the questionnaire, then the id it had
        return f"{localise(instrument.title, language, instrument.default_language)} ({item_id})"
    return localise(label, language, instrument.default_language)


def _prompt(prompt_id: str, session_id: Any) -> str:
    """A focus group's prompt by its words in the page's language (the id if the focus
    group or the prompt is gone)."""
    focus_group = (db.session.get(FocusGroup, int(session_id))
                   if str(session_id).isascii() and str(session_id).isdigit() else None)
    version = db.session.get(InstrumentVersion, focus_group.guide_version_id) if focus_group else None
    if version is None:
        return prompt_id
    guide = queries.instruments.instrument_of(version)
    label = next((p.label for p in guide.prompts if p.id == prompt_id), None)
    return prompt_id if label is None else localise(
        label, guide.language_for(_page_language()), guide.default_language)


def _one(key: str, value: Any, names: Mapping[int, str], session_id: Any = None) -> str:
    """One recorded value in words (``names``: project id -> name; ``session_id``: the
    focus group a prompt id belongs to)."""
    looked_up: dict[str, Callable[[Any], str]] = {
        "prompt": lambda v: _prompt(v, session_id),
        "role": role_name, "roles": role_name, "wave": wave_name, "waves": wave_name,
        "language": language_name, "status": lambda v: str(STATUSES.get(v, v)),
        "from": lambda v: str(STATUSES.get(v, v)), "kinds": lambda v: str(REDACTIONS.get(v, v)),
        "reason": lambda v: str(REASONS.get(v, v)), "format": lambda v: str(FORMATS.get(v, v)),
        "direction": lambda v: str(DIRECTIONS.get(v, v)), "instrument": instrument_title,
        "guide": instrument_title, "project_id": lambda v: names.get(v, str(v)),
        "codes": lambda v: _("codes") if v else _("labels"), "source": _source,
    }
    if isinstance(value, bool) and key != "codes":
        return _yes_no(value)
    formatter = looked_up.get(key)
    if formatter is not None and isinstance(value, (str, int, bool)):
        return str(formatter(value))
    return str(value)


def _value(key: str, value: Any, names: Mapping[int, str], session_id: Any = None) -> str | None:
    """A detail's value in words: None when there is nothing to say (None, empty)."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, list) and len(value) == 2 and key in ("admin", "active", "email"):
        # user.updated records [before, after]
        return " → ".join(_one(key, v, names) for v in value)
    if isinstance(value, (list, tuple)):
        shown = [_one(key, v, names) for v in value if v not in (None, "")]
        return ", ".join(shown) or None
    if isinstance(value, dict):
        shown = [f"{k} {v}" for k, v in value.items() if v not in (None, "")]
        return ", ".join(shown) or None
    return _one(key, value, names, session_id)


@bp.app_template_global()
def audit_action(action: str) -> str:
    """An audit action in words ("campaign.created" -> "Campaign created")."""
    return str(ACTIONS.get(action, action))


@bp.app_template_global()
def audit_actions(chosen: str = "") -> list[tuple[str, str]]:
    """The audit page's action filter: (action, words), by the words. A filter typed into
    the address ("campaign." for every campaign action) is kept as the first choice."""
    choices = sorted(((code, str(words)) for code, words in ACTIONS.items()),
                     key=lambda choice: choice[1].casefold())
    if chosen and chosen not in ACTIONS:
        choices.insert(0, (chosen, chosen))
    return choices


@bp.app_template_global()
def audit_target(target_type: str, target_id: str | None) -> str:
    """What an event changed, in words: "Campaign 12", a questionnaire by its title."""
    if target_type == "instrument" and target_id:
        return f"{TARGETS['instrument']} {instrument_title(target_id)}"
    return " ".join(str(part) for part in (TARGETS.get(target_type, target_type), target_id) if part)


@bp.app_template_global()
def audit_details(event, names: Mapping[int, str] | None = None) -> list[str]:
    """An audit event's details as "Label: value" phrases in the page's language: values
    that are None or empty are left out, lists joined, codes (roles, waves, languages,
    statuses, kinds of personal data, questions and prompts) in words. ``names`` maps
    project ids to names."""
    details = event.details or {}
    # A prompt belongs to the focus group named in the details, or to the event's target.
    session_id = details.get("session", event.target_id if event.target_type == "session" else None)
    phrases = []
    for key, value in details.items():
        if key in HIDDEN:
            continue
        shown = _value(key, value, names or {}, session_id)
        if shown is None:
            continue
        label = FIELDS.get(key)
        phrases.append(_("%(label)s: %(value)s", label=label if label is not None
                         else key.replace("_", " "), value=shown))
    return phrases
