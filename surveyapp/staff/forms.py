"""Staff forms: sites, campaigns, users. Class-level strings are lazy (translated on render)."""
from flask_babel import lazy_gettext as _l
from surveyapp.forms import (  # noqa: F401  (ActionForm, options: also used as staff.forms.*)
    WAVES, ActionForm, Form, MultiCheckboxField, WaveMixin, options)
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from surveyapp.auth.forms import MIN_PASSWORD

ROLE_LABELS = options((("admin", _l("Admin")), ("facilitator", _l("Facilitator")),
                       ("analyst", _l("Analyst"))))


class SiteForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    area = StringField(_l("Area (optional)"), validators=[Optional(), Length(max=300)])


class CampaignForm(WaveMixin, Form):
    instrument = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    pin_version = BooleanField(_l("Keep this version even if the questionnaire is updated"))
    site = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    wave = SelectField(_l("Wave"), choices=WAVES, default="baseline")
    wave_label = StringField(_l("Wave name"), validators=[Length(max=50)])  # checked by WaveMixin
    opens_on = DateField(_l("Opens on (optional)"), validators=[Optional()])
    closes_on = DateField(_l("Closes on (optional)"), validators=[Optional()])
    unlisted = BooleanField(_l("Unlisted: reachable only through its link"))

    def validate_closes_on(self, field):
        if field.data and self.opens_on.data and field.data <= self.opens_on.data:
            raise ValidationError(_l("The closing date must come after the opening date."))


class UserForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    roles = MultiCheckboxField(_l("Roles"), choices=ROLE_LABELS)
    password = PasswordField(_l("Password (leave empty to keep it)"),
                             validators=[Optional(), Length(min=MIN_PASSWORD, max=200)])
    active = BooleanField(_l("Account active"), default=True)

    def validate_roles(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one role."))
