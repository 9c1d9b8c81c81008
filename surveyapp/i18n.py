"""Which language a request is served in, and the names of languages.

Respondent pages decide their language from the instrument (``choose_language``)
and store it in ``g.language``; every other page follows the browser.
"""
from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import get_locale

from surveyapp.domain.instruments import text_direction
from surveyapp.domain.labels import format_fixed, format_range, format_signed
from surveyapp.extensions import babel

# Each language named in itself, for the switcher.
LANGUAGE_NAMES = {
    "en": "English", "es": "Español", "fr": "Français", "ar": "العربية",
    "zh": "中文", "vi": "Tiếng Việt", "so": "Soomaali", "fa": "فارسی",
    "ur": "اردو", "he": "עברית", "pt": "Português", "sw": "Kiswahili",
}


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_select_locale)
    app.config["UI_LANGUAGES"] = ui_languages(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    app.context_processor(_template_globals)
    app.add_template_filter(_signed, "signed")
    app.add_template_filter(_score_range, "score_range")
    app.add_template_filter(_score, "score")


def _page_language() -> str:
    return getattr(g, "language", None) or str(get_locale() or "en")


def _score(value: float) -> str:
    """A score to one decimal in the page's locale: 45.0 beside 45.8, never "45"."""
    return format_fixed(value, _page_language())


def _signed(value: float) -> str:
    """A change with its sign (+11.8, −3.2), never -0."""
    return format_signed(value, _page_language())


def _score_range(low: float, high: float) -> str:
    """A 95% CI as [low, high], kept in order inside right-to-left text."""
    language = _page_language()
    return format_range(low, high, language, rtl=text_direction(language) == "rtl")


def ui_languages(directory: str) -> list[str]:
    """English plus every language with a catalog under ``directory``."""
    root = Path(directory)
    found = sorted(p.name for p in root.iterdir() if (p / "LC_MESSAGES").is_dir()) if root.is_dir() else []
    return ["en"] + [lang for lang in found if lang != "en"]


def choose_language(available, default: str, saved: str | None = None) -> str:
    """The respondent's language: ?lang=, then the switcher's choice, then what was
    saved with their response, then Accept-Language, then the instrument's default."""
    for candidate in (request.args.get("lang"), session.get("lang"), saved):
        if candidate in available:
            return candidate
    return request.accept_languages.best_match(list(available)) or default


def remember_language(language: str) -> None:
    if request.args.get("lang") == language:
        session["lang"] = language


def _select_locale():
    """Respondent pages: the respondent's language. Staff pages: ?lang= (remembered),
    then the browser's languages."""
    if getattr(g, "language", None):
        return g.language
    from flask import current_app
    available = current_app.config["UI_LANGUAGES"]
    if request.args.get("lang") in available:
        session["ui_lang"] = request.args["lang"]
    if session.get("ui_lang") in available:
        return session["ui_lang"]
    return request.accept_languages.best_match(available) or "en"


def isolate(text: str) -> str:
    """Wrap text typed by a user (a name, a link) in Unicode first-strong isolates, so that
    an Arabic name inside an English sentence, or a Latin link inside an Arabic one,
    cannot reorder the words around it. Templates use <bdi> for the same purpose."""
    return f"\u2068{text}\u2069"


def wave_name(wave: str) -> str:
    """Standard waves ("baseline", "follow-up", "follow-up 2", ...) in the page's language;
    a custom label as it was written."""
    from flask_babel import gettext as _
    standard = {"baseline": _("Baseline"), "follow-up": _("Follow-up")}.get(wave)
    if standard:
        return standard
    name, _space, number = wave.rpartition(" ")
    if name == "follow-up" and number.isascii() and number.isdigit():
        return _("Follow-up %(number)s", number=int(number))
    return wave


def _template_globals():
    language = getattr(g, "language", None) or str(get_locale() or "en")
    return {
        "page_language": language,
        "page_direction": text_direction(language),
        "language_names": LANGUAGE_NAMES,
        "wave_name": wave_name,
        "ui_languages": app_ui_languages(),
        "isolate": isolate,
    }


def app_ui_languages() -> list[str]:
    from flask import current_app
    return current_app.config["UI_LANGUAGES"]
