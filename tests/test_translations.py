"""Every shipped catalog is complete, and respondent pages in other languages carry no
English interface text; the language switcher keeps the respondent's answers."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict

from surveyapp.domain.instruments import check_paths
from tests.helpers import (
    CAPACITY, PLACEHOLDER, ROOT, english_fragments, hidden, html_attrs, location_path,
    post_page, start)

SHIPPED = ("es", "fr", "ar", "zh", "vi", "so")


def catalog(language):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def template_ids():
    with (ROOT / "translations" / "messages.pot").open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


@pytest.mark.parametrize("language", SHIPPED)
def test_catalog_is_complete_and_not_fuzzy(language):
    messages = [m for m in catalog(language) if m.id]
    untranslated = [m.id for m in messages
                    if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [] and fuzzy == []
    # It covers every string in the template, with the same placeholders.
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in messages}
    assert template_ids() <= ids
    for message in messages:
        source = message.id if isinstance(message.id, str) else message.id[1]
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(source))
        for text in translations:
            # A singular form may spell out the number ("one answer") instead of %(num)d.
            assert set(PLACEHOLDER.findall(text)) <= wanted | {"%(num)d"}, (language, message.id, text)


def test_the_template_holds_every_string_the_code_uses():
    """messages.pot is what translators and the catalog check work from: a string added to
    the code or a template without `surveyapp translate extract` would be checked nowhere."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    used = {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / "surveyapp", method_map, options_map, keywords={**DEFAULT_KEYWORDS, "_l": None})}
    assert used - template_ids() == set()


@pytest.mark.parametrize("language", SHIPPED)
def test_no_message_is_defined_twice(language):
    """Babel keeps the last of two definitions without a word; msgfmt refuses the file."""
    text = (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^(?:msgctxt (".*")\n)?msgid ((?:".*"\n)+)msgstr', text, re.M)
    repeated = [msgid for msgid, count in Counter(ids).items() if count > 1 and msgid[1] != '""\n']
    assert repeated == []


def respondent_pages(client, code, language):
    """Landing, every page (plus one with errors), saved, resume form, 404."""
    path = start(client, code, language)
    base = path.rsplit("/", 1)[0]
    yield "landing", client.get(f"/s/{code}?lang={language}").text
    for page in CAPACITY.pages:
        yield page.id, client.get(f"{base}/{page.id}").text
    yield "errors", post_page(client, path, []).text
    yield "saved", client.get(f"{base}/saved").text
    yield "resume", client.get(f"/resume?code=NOPE-NOPE&lang={language}").text
    yield "not found", client.get(f"/s/nosuchcode?lang={language}", headers={"Accept-Language": language}).text


@pytest.mark.parametrize("language", ["ar", "zh", "so"])
def test_respondent_pages_carry_no_english_interface_text(client, make_campaign, language):
    code = make_campaign()
    fragments = english_fragments()
    assert len(fragments) > 50
    for name, html in respondent_pages(client, code, language):
        visible = re.sub(r"<[^>]+>", " ", html)
        found = sorted(f for f in fragments if f in visible)
        assert found == [], (language, name, found)


def test_the_check_finds_english_when_a_catalog_is_missing(client, make_campaign):
    """The same check on the English page does find the interface text: it can fail."""
    code = make_campaign()
    html = client.get(f"/s/{code}?lang=en").text
    assert any(fragment in html for fragment in english_fragments())


def test_switching_language_mid_page_keeps_the_answers(app, client, make_campaign):
    code = make_campaign()
    path = start(client, code, "es")
    page = client.get(path)
    assert '<button form="page-form" name="action" value="lang:ar"' in page.text
    reply = client.post(path, data=MultiDict([
        ("csrf_token", hidden(page.text, "csrf_token")), ("action", "lang:ar"),
        ("area", "north"), ("years_here", "7")]))
    assert reply.status_code == 302 and location_path(reply).endswith(f"{path.rsplit('/', 1)[1]}?lang=ar")
    again = client.get(location_path(reply))
    assert html_attrs(again.text)["dir"] == "rtl"
    assert 'name="years_here" value="7"' in again.text
    assert re.search(r'name="area" value="north" checked', again.text)


@pytest.mark.parametrize("language", ["ar", "zh", "so"])
def test_staff_pages_carry_no_english_interface_text(sqlite_app, language):
    from tests.helpers import login, make_user
    make_user(sqlite_app, "admin@example.org", "admin", "facilitator")
    client = sqlite_app.test_client()
    assert client.get(f"/login?lang={language}").status_code == 200
    login(client, "admin@example.org")
    fragments = english_fragments()
    for path in ("/staff/", "/staff/campaigns", "/staff/sites", "/staff/users",
                 "/staff/focus-groups/", "/staff/focus-groups/new", "/account/password"):
        html = client.get(path).text
        assert html_attrs(html)["lang"] == language, path
        visible = re.sub(r"<[^>]+>", " ", html)
        found = sorted(f for f in fragments if f in visible)
        assert found == [], (language, path, found)


PHYSICAL = re.compile(r"(?<![\w-])(margin|padding|border)-(left|right)\b|(?<![\w-])(left|right)\s*:|"
                      r"text-align\s*:\s*(left|right)|float\s*:\s*(left|right)")


@pytest.mark.parametrize("sheet", sorted((ROOT / "surveyapp" / "static").glob("*.css")), ids=lambda p: p.name)
def test_stylesheets_use_logical_properties_only(sheet):
    """margin-inline-start mirrors under dir=rtl; margin-left does not."""
    assert PHYSICAL.findall(sheet.read_text()) == []


def test_the_stylesheet_check_catches_physical_properties():
    assert PHYSICAL.search("a { margin-left: 1rem }") and PHYSICAL.search("b { text-align: right }")
    assert not PHYSICAL.search("a { margin-inline-start: 1rem; text-align: start }")


@pytest.mark.parametrize("language", ["ar", "so", "zh", "vi"])
def test_wtforms_messages_come_in_the_page_language(sqlite_app, language):
    from tests.helpers import login, make_user
    make_user(sqlite_app, "admin@example.org", "admin")
    client = sqlite_app.test_client()
    client.get(f"/login?lang={language}")
    login(client, "admin@example.org")
    page = client.get("/staff/sites")
    reply = client.post("/staff/sites", data={"csrf_token": hidden(page.text, "csrf_token"), "name": ""})
    assert reply.status_code == 422
    error = re.search(r'<p class="error" id="e-name">([^<]+)</p>', reply.text).group(1)
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        translated = read_po(handle, locale=language).get("This field is required.").string
    assert error == translated and error != "This field is required."


@pytest.mark.parametrize("language, date_text", [("fr", "20 nov. 2026"), ("zh", "2026年11月20日"),
                                                  ("es", "20 nov 2026")])
def test_dates_are_formatted_for_the_locale(app, client, language, date_text):
    from tests.helpers import create_session
    from tests.helpers import login, make_user
    from surveyapp import operations
    with app.app_context():
        operations.transaction(lambda: operations.instruments.sync_instruments([ROOT / "tests" / "data" / "mini-guide.yaml"]))
        operations.transaction(lambda: operations.campaigns.get_or_create_site("Riverside"))
    make_user(app, "fac@example.org", "facilitator")
    login(client, "fac@example.org")
    create_session(client)
    listing = client.get(f"/staff/focus-groups/?lang={language}").text
    assert date_text in listing


@pytest.mark.parametrize("language, wave, shown", [
    ("fr", "baseline", "Initiale"), ("fr", "follow-up 1", "Suivi 1"), ("ar", "follow-up 2", "جولة المتابعة 2"),
    ("zh", "follow-up 3", "第 3 次追踪"), ("en", "follow-up 1", "Follow-up 1"), ("es", "mid-term", "mid-term"),
])
def test_numbered_follow_up_waves_read_in_the_page_language(sqlite_app, language, wave, shown):
    """Projects number their follow-ups ("follow-up 1", ...): residents see them translated,
    and a custom wave name as it was written."""
    from flask_babel import force_locale
    from surveyapp.i18n import wave_name
    with sqlite_app.test_request_context(), force_locale(language):
        assert wave_name(wave) == shown
