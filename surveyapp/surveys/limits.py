"""Rate limits for respondent pages, budgeted per respondent flow and per address apart.

A community centre's wifi puts dozens of respondents behind one address, so a tight
per-address limit cuts real people off half-way (and leaves their partial responses
behind). Instead:

* each response (named by its resume code in the URL) has its own budget, far above
  what a person clicking and typing uses, so one flooding response is stopped alone;
* each address has a generous ceiling shared by every respondent page;
* unknown resume codes (404s) are counted per address: that is what guessing a bearer
  code looks like (31^8 codes against a few dozen tries a minute), while resuming with
  a real code costs nothing here;
* wrong and unknown panel codes (typed at a follow-up's start) are counted with them;
* starting a response (each start creates a row) is limited per consent form token,
  i.e. per browser session, and per address.

Each limit reads its setting at request time, so an instance can tune it
(``SURVEYAPP_RESPONSE_RATE_LIMIT=...``).
"""
from __future__ import annotations

from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address

from surveyapp.extensions import limiter

DEFAULTS = {
    # A person posts a page every few seconds; survey.js asks /relevance at most every 250 ms
    # while typing. 240 a minute is several times that.
    "RESPONSE_RATE_LIMIT": "240/minute",
    # 64 people answering the 8-page survey at once make about 1,300 requests; leave room.
    "RESPONDENT_ADDRESS_RATE_LIMIT": "3000/minute",
    "RESUME_GUESS_RATE_LIMIT": "30/minute;300/hour",
    # A kiosk tablet handed from person to person starts a response a minute, not ten.
    "START_PER_SESSION_RATE_LIMIT": "10/minute;60/hour",
    "START_PER_ADDRESS_RATE_LIMIT": "200/minute",
}


def _setting(name: str):
    return lambda: current_app.config.get(name, DEFAULTS[name])


def _response_key() -> str:
    code = (request.view_args or {}).get("resume_code", "")
    return "response:" + "".join(ch for ch in code.upper() if ch.isalnum())[:16]


def _consent_key() -> str:
    # The session's own CSRF secret, not the posted (time-stamped) token: every landing page
    # shows a new signed token for the same session. Without a session the start is refused
    # anyway (its token cannot check), so the address stands in.
    return "consent:" + (session.get("csrf_token") or get_remote_address())


def _not_found(response) -> bool:
    return response.status_code == 404


per_response = limiter.shared_limit(_setting("RESPONSE_RATE_LIMIT"), scope="respondent-response",
                                    key_func=_response_key)
per_address = limiter.shared_limit(_setting("RESPONDENT_ADDRESS_RATE_LIMIT"),
                                   scope="respondent-address")
resume_guesses = limiter.shared_limit(_setting("RESUME_GUESS_RATE_LIMIT"), scope="resume-guess",
                                      deduct_when=_not_found)


def _panel_code_failed(response) -> bool:
    return bool(g.get("panel_code_failed"))


def _no_panel_code() -> bool:
    # The consent form posts it as a field; the API (and the offline app's queue) in JSON.
    given = request.form.get("panel_code")
    if given is None and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # the API answers that body itself
            return True
        given = body.get("panel_code") if isinstance(body, dict) else None
    return not (given.strip() if isinstance(given, str) else given)


# Wrong and unknown panel codes count against the same per-address budget as unknown resume
# codes (one guesser, one budget); a start without a code is never held back by it.
panel_code_guesses = limiter.shared_limit(_setting("RESUME_GUESS_RATE_LIMIT"), scope="resume-guess",
                                          deduct_when=_panel_code_failed, exempt_when=_no_panel_code)
start_per_session = limiter.limit(_setting("START_PER_SESSION_RATE_LIMIT"), key_func=_consent_key)
start_per_address = limiter.limit(_setting("START_PER_ADDRESS_RATE_LIMIT"))
