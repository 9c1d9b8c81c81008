"""Answer errors as sentences in the current language (the respondent's, on their pages)."""
from flask_babel import gettext as _
from flask_babel import ngettext

from surveyapp.domain.answers import AnswerError


def describe(error: AnswerError, language: str, default_language: str) -> str:
    """One sentence saying what is wrong with an answer, in ``language``."""
    if error.custom_message:
        return error.custom_message.get(language) or error.custom_message.get(default_language, "")
    p = error.params
    match error.code:
        case "required":
            return _("Please answer this question.")
        case "not_text":
            return _("Please enter text.")
        case "too_long":
            return _("Please shorten your answer to at most %(max)s characters (it has %(length)s).",
                     max=p["max"], length=p["length"])
        case "not_integer":
            return _("Please enter a whole number, such as 12.")
        case "not_number":
            return _("Please enter a number, such as 2.5.")
        case "too_small":
            return _("Please enter a number of at least %(min)s.", min=p["min"])
        case "too_large":
            return _("Please enter a number no greater than %(max)s.", max=p["max"])
        case "not_a_choice":
            return _("Please choose one of the options given.")
        case "too_few_choices":
            return ngettext("Please choose at least %(num)d option.",
                            "Please choose at least %(num)d options.", p["min"])
        case "too_many_choices":
            return ngettext("Please choose no more than %(num)d option.",
                            "Please choose no more than %(num)d options.", p["max"])
        case "duplicate_choice":
            return _("Please choose each option only once.")
        case "not_a_date":
            return _("Please enter a date as year-month-day, such as 2025-03-31.")
        case "too_early":
            return _("Please enter a date on or after %(min)s.", min=p["min"])
        case "too_late":
            return _("Please enter a date on or before %(max)s.", max=p["max"])
        case "other_required":
            return _("Please say what “other” means here.")
        case "constraint":
            return _("This answer does not fit the question. Please check it.")
        case "unknown_question":
            return _("This questionnaire has no question with this key.")
    return _("This answer cannot be accepted.")
