"""Forms for sessions, rosters and transcripts. Class-level strings are lazy."""
import re

from flask_babel import lazy_gettext as _l
from surveyapp.forms import Form, MultiCheckboxField, SubForm, options
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (BooleanField, DateField, FieldList, FormField, HiddenField,
                     SelectField, StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from surveyapp.domain.speakers import LabelTooLong, normalise_label
from surveyapp.domain.transcripts import format_clock  # noqa: F401  (the views' clock)

AGE_BANDS = options((("", _l("Not recorded")), ("under-18", _l("Under 18")), ("18-24", _l("18 to 24")),
                    ("25-34", _l("25 to 34")), ("35-44", _l("35 to 44")), ("45-54", _l("45 to 54")),
                    ("55-64", _l("55 to 64")), ("65+", _l("65 and over"))))
GENDERS = options((("", _l("Not recorded")), ("woman", _l("Woman")), ("man", _l("Man")),
           ("other", _l("Other")), ("not_said", _l("Prefers not to say"))))
PARTICIPANT_ROLES = options((("", _l("Not recorded")), ("resident", _l("Resident")), ("youth", _l("Youth")),
                     ("business_owner", _l("Business owner")), ("police_officer", _l("Police officer")),
                     ("community_worker", _l("Community worker")),
                     ("programme_staff", _l("Programme staff or volunteer")), ("other", _l("Other"))))


def choice_label(choices, value: str) -> str:
    """What a participant's stored code (``business_owner``) reads as on a page
    (“Business owner”, translated); a code no longer offered reads as words, never
    as the code: ``night_worker`` -> “Night worker”."""
    for choice in choices:
        if choice.value == value:
            return str(choice.label)
    return value.replace("_", " ").capitalize()


_TIME_RE = re.compile(r"^(?:(\d{1,2}):)?([0-5]?\d):([0-5]\d)$")
# The rows a new session's roster starts with: a group has two or more people, an
# interview one. "Add a participant" gives a group another row.
FIRST_ROWS = {"focus_group": 2, "interview": 1}


def parse_clock(text: str | None) -> int | None:
    """'1:02:03' or '02:03' -> seconds; '' -> None; anything else -> ValueError."""
    text = (text or "").strip()
    if not text:
        return None
    match = _TIME_RE.match(text)
    if not match:
        raise ValueError(text)
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds




def _fits_in_capitals(form, field):
    """Pseudonyms are kept upper-cased, and upper-casing can lengthen them (ß -> SS)."""
    try:
        normalise_label(field.data or "")
    except LabelTooLong:
        raise ValidationError(_l("Use at most 20 characters: pseudonyms are kept in capitals, "
                                 "and some letters take two (ß becomes SS)."))


class ParticipantForm(SubForm):
    pseudonym = StringField(_l("Pseudonym"), validators=[Optional(), Length(max=20), _fits_in_capitals])
    age_band = SelectField(_l("Age band"), choices=AGE_BANDS, default="")
    gender = SelectField(_l("Gender"), choices=GENDERS, default="")
    role = SelectField(_l("Role"), choices=PARTICIPANT_ROLES, default="")
    real_name = StringField(_l("Real name (optional, only to find and hide it)"),
                            validators=[Optional(), Length(max=200)])


class FocusGroupForm(Form):
    """A new focus group or interview (``kind``, from the page's link). The wave is one of
    the waves of the site's project (the view checks which); the roster holds the rows
    sent, and ``add_row`` asks for one more instead of saving."""
    kind = HiddenField(default="focus_group")
    guide = SelectField(_l("Guide"), validators=[DataRequired()])
    site = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    wave = SelectField(_l("Wave"), validators=[DataRequired()])
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=300)])
    language = SelectField(_l("Language of the discussion"), validators=[DataRequired()])
    facilitators = MultiCheckboxField(_l("Facilitators"), coerce=int)
    consent_given = BooleanField(_l("Every participant gave consent after hearing the consent script"))
    consent_note = TextAreaField(_l("Consent notes (optional)"), validators=[Optional(), Length(max=2000)])
    participants = FieldList(FormField(ParticipantForm), min_entries=1, max_entries=60)
    add_row = SubmitField(_l("Add a participant"))

    def filled_rows(self) -> list:
        """The roster rows with a pseudonym (a row left empty is skipped)."""
        return [row for row in self.participants if (row.pseudonym.data or "").strip()]

    def add_participant_row(self) -> None:
        """One more row, its pseudonym the next free P-number (P3 after P1 and P2)."""
        numbers = [int(label[1:]) for label in ((row.pseudonym.data or "").strip().upper()
                                                for row in self.participants)
                   if label[:1] == "P" and label[1:].isdigit()]
        self.participants.append_entry()
        self.participants[-1].pseudonym.data = f"P{max(numbers, default=0) + 1}"


class ParticipantAddForm(ParticipantForm, Form):
    pass


class SegmentForm(Form):
    speaker = SelectField(_l("Speaker"), validators=[DataRequired()])
    text = TextAreaField(_l("What was said"), validators=[DataRequired(), Length(max=20000)])
    clock = StringField(_l("Time (optional, e.g. 00:12:31)"), validators=[Optional()])
    client_id = HiddenField()

    def validate_clock(self, field):
        try:
            parse_clock(field.data)
        except ValueError:
            raise ValidationError(_l("Write the time as hours:minutes:seconds, e.g. 00:12:31."))


class _TranscriptBatch:
    """What quick entry and a file import share: the batch id that makes a resend save
    once, and the choice to add speakers who are not in the roster."""
    batch_id = HiddenField()
    add_unknown = BooleanField(_l("Add speakers who are not in the roster to it"))


class QuickEntryForm(_TranscriptBatch, Form):
    # As long as a request may be (MAX_CONTENT_LENGTH): a whole session's transcript.
    lines = TextAreaField(_l("Paste or type lines such as “P3: what they said”"),
                          validators=[DataRequired(), Length(max=1_000_000)])


class ImportForm(_TranscriptBatch, Form):
    file = FileField(_l("Transcript file (.txt or .vtt)"),
                     validators=[FileRequired(), FileAllowed(["txt", "vtt"], _l("Choose a .txt or .vtt file."))])


class NoteForm(Form):
    notes = TextAreaField(_l("Notes and observations"), validators=[Optional(), Length(max=20000)])
