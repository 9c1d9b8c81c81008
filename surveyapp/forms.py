"""Base classes for every form, so that WTForms' own messages come from our catalogs.

WTForms ships catalogs for a few languages only (no Vietnamese or Somali), and
Flask-WTF would look them up in WTForms' own domain. Routing its messages through
our catalog gives every language we ship the same, complete set.
"""
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form as PlainForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField
from wtforms.validators import DataRequired
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


class _CatalogTranslations:
    """What WTForms calls: gettext and ngettext, returning the raw translated template.

    WTForms fills in %(min)d and the like itself, so nothing is formatted here.
    """

    def gettext(self, string):
        return get_translations().gettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ngettext(singular, plural, n)


_TRANSLATIONS = _CatalogTranslations()


class _Meta:
    def get_translations(self, form):
        return _TRANSLATIONS


class Form(FlaskForm):
    """A form with a CSRF token, messages in the page's language."""

    class Meta(_Meta):
        pass


class SubForm(PlainForm):
    """A group of fields inside a Form (e.g. one roster row), without its own token."""

    class Meta(_Meta):
        pass


# WTForms' messages for the fields and validators we use, listed so that
# `surveyapp translate extract` puts them in the catalog.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _l("Not a valid date value."),
    _l("Not a valid integer value."),
    _l("Invalid input."),
    _l("Field must be between %(min)d and %(max)d characters long."),
)


# ----------------------------------------------------------------------------- shared pieces
# Used by the staff forms (campaigns, users) and the focus-group forms (sessions).

def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices WTForms expects."""
    return [SelectChoice(value, label) for value, label in pairs]


WAVES = options((("baseline", _l("Baseline")), ("follow-up", _l("Follow-up")), ("custom", _l("Other (name it)"))))


class ActionForm(Form):
    """No fields: a button that posts, protected by the CSRF token."""


class DeleteForm(Form):
    """The confirm step of a deletion: nothing goes until the box is ticked."""
    confirm = BooleanField(_l("I understand that this cannot be undone."),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class WaveMixin:
    """A wave chosen from WAVES, or named when it is "Other" (``wave_label``)."""

    def chosen_wave(self) -> str:
        return self.wave_label.data.strip() if self.wave.data == "custom" else self.wave.data

    def validate_wave_label(self, field):
        if self.wave.data == "custom" and not (field.data or "").strip():
            raise ValidationError(_l("Name the wave."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
