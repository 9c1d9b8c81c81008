"""Small helpers for driving the HTML flow with Flask's test client."""
from __future__ import annotations

import re
from html.parser import HTMLParser


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"input", "textarea", "select", "html", "form", "fieldset"}:
            self.inputs.append({"tag": tag, **{k: (v or "") for k, v in attrs}})


def elements(html: str) -> list[dict]:
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs


def hidden(html: str, name: str) -> str:
    for element in elements(html):
        if element.get("name") == name and element.get("type") == "hidden":
            return element["value"]
    raise AssertionError(f"no hidden {name} in page")


def html_attrs(html: str) -> dict:
    return next(e for e in elements(html) if e["tag"] == "html")


def to_form(page, answers) -> list[tuple[str, str]]:
    """One page's answers as the (name, value) pairs a browser would post."""
    pairs = []
    for question in page.questions:
        for key in question.answer_keys:
            value = answers.get(key)
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, str(item)))
    return pairs


def location_path(response) -> str:
    return re.sub(r"^https?://[^/]+", "", response.headers["Location"])


def catalog_text(language: str, msgid: str) -> str:
    """The shipped translation of ``msgid``; fails if it is missing or left in English."""
    from pathlib import Path
    from babel.messages.pofile import read_po
    path = Path(__file__).resolve().parent.parent / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        message = read_po(handle).get(msgid)
    assert message is not None and message.string and message.string != msgid, (language, msgid)
    return message.string


def expired_csrf_token(app, client, age_seconds: int = 2 * 3600) -> str:
    """A CSRF token for ``client``'s session, signed ``age_seconds`` ago: forged, not waited for.

    Flask-WTF signs the session's raw token with itsdangerous; a signer whose clock
    reads the past makes the same token it would have made then.
    """
    import time
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    with client.session_transaction() as session:
        raw = session["csrf_token"]
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=PastSigner).dumps(raw)
