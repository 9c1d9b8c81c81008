"""The project export form: filters, label language and labels or codes, run as a job; the
workbook's question texts, choice labels, codebook and summary come out in the language
chosen, whichever sheet they are on."""
from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa

from surveyapp import queries
from surveyapp.domain.instruments import localise
from surveyapp.domain.labels import answer_text
from surveyapp.extensions import db
from surveyapp.jobs import thread_backend
from surveyapp.models import Campaign
from tests.helpers import _clients, hidden, responses_by_id, seed


def _project_and_instrument(app, campaign_id):
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        instrument = queries.instruments.instrument_of(queries.campaigns.campaign_version(campaign))
        return campaign.project_id, campaign.site_id, instrument


def _post(client, project_id, **form):
    page = client.get(f"/staff/projects/{project_id}/export")
    assert page.status_code == 200, page.text
    data = {"csrf_token": hidden(page.text, "csrf_token"), "instrument": "community-capacity",
            "campaign": "0", "status": "complete", "language": "en", "answers": "labels",
            "output": "xlsx", **form}
    return client.post(f"/staff/projects/{project_id}/export", data=data)


def _run(client, reply):
    assert reply.status_code == 302, reply.text
    job_id = int(reply.headers["Location"].rstrip("/").split("/")[-1])
    thread_backend.wait_idle()
    status = client.get(f"/staff/jobs/{job_id}/status").get_json()
    assert status["state"] == "done", status
    return openpyxl.load_workbook(io.BytesIO(client.get(status["download"]).data))


def test_labels_in_the_chosen_language_on_every_sheet(app, make_campaign):
    data = seed(app, make_campaign)
    project_id, site_id, instrument = _project_and_instrument(app, data["campaign_id"])
    assert "ar" in instrument.languages and instrument.default_language != "ar"
    analyst = _clients(app)["analyst"]
    book = _run(analyst, _post(analyst, project_id, language="ar", sites=str(site_id),
                               waves="baseline"))
    t = lambda text: localise(text, "ar", instrument.default_language)  # noqa: E731
    question = next(q for q in instrument.questions if q.type in ("select_one", "likert")
                    and not q.pii and q.choices is not None)
    value = next(a[question.id] for a in data["answers"].values() if a.get(question.id) is not None)
    arabic = answer_text(question, question.id, value, "ar", instrument.default_language,
                         other_label="Other").text
    assert arabic != answer_text(question, question.id, value, "en", "en", other_label="Other").text  # really translated

    # Responses: row 2 is the question text, the cells are the choice labels, all in Arabic.
    header = list(book["Responses"].iter_rows(min_row=1, max_row=2, values_only=True))
    column = header[0].index(question.id)
    assert header[1][column] == t(question.label)
    assert book["Responses"].sheet_view.rightToLeft  # an Arabic sheet reads right to left
    labels = {row[question.id] for row in responses_by_id(book).values()} - {None}
    assert arabic in labels
    # Codebook: question text and "code = label" in Arabic.
    codebook = {row[0]: row for row in book["Codebook"].iter_rows(min_row=2, values_only=True)}
    assert codebook[question.id][1] == t(question.label)
    assert f"{value} = {t(next(c.label for c in question.choices.choices if c.value == value))}" \
        in codebook[question.id][3]
    # Summary: the frequency rows carry the Arabic question and label.
    summary = [row for row in book["Summary"].iter_rows(min_row=2, values_only=True)
               if row[0] == question.id]
    assert {row[1] for row in summary} == {t(question.label)}
    assert arabic in {row[3] for row in summary}
    # About: the title in Arabic, and it says so.
    about = dict(book["About"].iter_rows(min_row=2, max_col=2, values_only=True))
    assert about["answers as"] == "labels (Arabic)"
    assert t(instrument.title) in about["instrument"]
    assert "waves Baseline" in about["filters"] and "sites " in about["filters"]


def test_codes_in_another_language_and_filters_that_select_nothing(app, make_campaign):
    data = seed(app, make_campaign)
    project_id, site_id, instrument = _project_and_instrument(app, data["campaign_id"])
    analyst = _clients(app)["analyst"]
    book = _run(analyst, _post(analyst, project_id, language="es", answers="codes"))
    question = next(q for q in instrument.questions if q.type == "select_one" and not q.pii)
    header = list(book["Responses"].iter_rows(min_row=1, max_row=2, values_only=True))
    column = header[0].index(question.id)
    assert header[1][column] == localise(question.label, "es", instrument.default_language)
    stored = {a.get(question.id) for a in data["answers"].values()} - {None}
    assert {row[question.id] for row in responses_by_id(book).values()} - {None} <= stored
    assert "contact" not in header[0]  # no PII unless an admin asks
    # A wave no campaign is in: an empty Responses sheet, not an error.
    with app.app_context():
        project = db.session.get(Campaign, data["campaign_id"]).project
        other_wave = next((w for w in project.waves if w != "baseline"), None)
    if other_wave:
        empty = _run(analyst, _post(analyst, project_id, waves=other_wave))
        assert responses_by_id(empty) == {}


def test_bad_choices_are_refused_with_a_message(app, make_campaign):
    data = seed(app, make_campaign)
    project_id, _site, instrument = _project_and_instrument(app, data["campaign_id"])
    clients = _clients(app)
    analyst = clients["analyst"]
    reply = _post(analyst, project_id, language="xx")
    assert reply.status_code == 422 and "Not a valid choice" in reply.text
    reply = _post(analyst, project_id, since="2026-12-01", until="2026-11-01")
    assert reply.status_code == 422 and "must not come before" in reply.text
    assert _post(analyst, project_id, pii="y").status_code == 403
    # An admin may ask for contact details, explicitly.
    book = _run(clients["admin"], _post(clients["admin"], project_id, pii="y"))
    header = next(book["Responses"].iter_rows(max_row=1, values_only=True))
    pii = [q.id for q in instrument.questions if q.pii]
    assert pii and all(any(name.startswith(key) for name in header) for key in pii)


def test_only_analysts_and_admins(app, make_campaign):
    from tests.helpers import login, make_user
    data = seed(app, make_campaign)
    project_id, _site, _instrument = _project_and_instrument(app, data["campaign_id"])
    make_user(app, "facilitator@example.org", "facilitator")
    client = app.test_client()
    assert login(client, "facilitator@example.org").status_code == 302
    assert client.get(f"/staff/projects/{project_id}/export").status_code in (403, 404)
