"""Codes as people read them, in a given language: plain data in, words out (babel's
locale data, no Flask). The staff pages call these with the page's language, the
workbook with English."""
from __future__ import annotations

from babel import Locale, UnknownLocaleError


def language_name(code: str, in_language: str = "en") -> str:
    """The name of the language ``code`` written in ``in_language``: "ar" in "en" is
    "Arabic", in "fr" "Arabe" (capitalised: it stands alone, in a list or a cell). A code
    babel does not know is returned as it is, never an error."""
    if not code:
        return ""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(
            Locale.parse(in_language.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return (name[:1].upper() + name[1:]) if name else code
