"""Analysis forms. Class-level strings are lazy (translated on render)."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, Regexp

from surveyapp.forms import Form

AUTO = "auto"


class RunForm(Form):
    """How many themes (a number, or "auto" for the engine to choose) and the language."""
    k = StringField(_l("Number of themes"), default=AUTO, validators=[
        Optional(), Regexp(r"^\s*(auto|[1-9][0-9]?)\s*$",
                           message=_l('Give a number from 1 to 99, or "auto".'))])
    language = SelectField(_l("Language of the texts"), validators=[Optional()])

    def chosen_k(self) -> int | None:
        value = (self.k.data or AUTO).strip()
        return None if value == AUTO else int(value)


class LabelForm(Form):
    label = StringField(_l("Name"), validators=[Length(max=300)])
