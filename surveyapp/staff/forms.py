"""Staff forms: projects, sites, campaigns, users. Class-level strings are lazy
(translated on render)."""
from flask_babel import lazy_gettext as _l
from surveyapp.forms import (  # noqa: F401  (ActionForm, options: also used as staff.forms.*)
    ActionForm, Form, MultiCheckboxField, options)
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from surveyapp.auth.forms import MIN_PASSWORD

ROLE_LABELS = options((("admin", _l("Admin")), ("facilitator", _l("Facilitator")),
                       ("analyst", _l("Analyst")), ("partner", _l("Partner (aggregates only)"))))
# An export's choice of responses, as words (the values are what the export reads).
RESPONSE_STATUSES = (("complete", _l("Complete responses")), ("partial", _l("Partial responses")),
                     ("all", _l("Complete and partial responses")))
PROJECT_ROLE_LABELS = options((("facilitator", _l("Facilitator")), ("analyst", _l("Analyst")),
                               ("partner", _l("Partner (aggregates only)"))))


class ProjectForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class WavesForm(Form):
    waves = TextAreaField(_l("Waves"), validators=[DataRequired()])

    def wave_list(self) -> list[str]:
        return (self.waves.data or "").splitlines()


class MemberForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=PROJECT_ROLE_LABELS)


class SiteForm(Form):
    project = SelectField(_l("Project"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    area = StringField(_l("Area (optional)"), validators=[Optional(), Length(max=300)])


class CampaignForm(Form):
    """The wave is chosen from the projects' wave lists; the operation checks that it is
    one of the chosen site's project."""
    instrument = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    site = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    wave = SelectField(_l("Wave"), validators=[DataRequired()])
    opens_on = DateField(_l("Opens on (optional)"), validators=[Optional()])
    closes_on = DateField(_l("Closes on (optional)"), validators=[Optional()])
    unlisted = BooleanField(_l("Unlisted: reachable only through its link"))

    def validate_closes_on(self, field):
        if field.data and self.opens_on.data and field.data <= self.opens_on.data:
            raise ValidationError(_l("The closing date must come after the opening date."))


class UserForm(Form):
    """A new account: admin is global, facilitator, analyst and partner are held in ``project``."""
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    roles = MultiCheckboxField(_l("Roles"), choices=ROLE_LABELS)
    project = SelectField(_l("Project"), coerce=int, validators=[Optional()])
    password = PasswordField(_l("Password (leave empty to keep it)"),
                             validators=[Optional(), Length(min=MIN_PASSWORD, max=200)])
    active = BooleanField(_l("Account active"), default=True)

    def validate_roles(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one role."))
        if {"facilitator", "analyst", "partner"} & set(field.data) and not self.project.data:
            raise ValidationError(_l("Choose the project these roles are held in."))


class UserEditForm(Form):
    """An account's email, admin role, status and password; project roles are given on
    the project's page."""
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    admin = BooleanField(_l("Admin"))
    password = PasswordField(_l("Password (leave empty to keep it)"),
                             validators=[Optional(), Length(min=MIN_PASSWORD, max=200)])
    active = BooleanField(_l("Account active"), default=True)


class ProjectExportForm(Form):
    """A project's export: which responses, in which label language, as labels or codes.
    Choices are set by the view from the project; PII is offered to admins only."""
    instrument = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    campaign = SelectField(_l("Campaign"), coerce=int, default=0)
    sites = MultiCheckboxField(_l("Sites (none chosen: all)"), coerce=int)
    waves = MultiCheckboxField(_l("Waves (none chosen: all)"))
    since = DateField(_l("From (optional)"), validators=[Optional()])
    until = DateField(_l("Until (optional)"), validators=[Optional()])
    status = SelectField(_l("Responses"), choices=options(RESPONSE_STATUSES), default="complete")
    language = SelectField(_l("Label language"))
    answers = SelectField(_l("Answers as"), choices=options((("labels", _l("labels")),
                                                           ("codes", _l("codes")))),
                          default="labels")
    output = SelectField(_l("Format"), choices=options((("xlsx", _l("Excel workbook")),
                                                      ("csv", _l("CSV files (zip)")))),
                         default="xlsx")
    pii = BooleanField(_l("Include contact details (admins only)"))

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date must not come before the start date."))
