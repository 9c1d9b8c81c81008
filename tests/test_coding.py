"""Coding you can defend (issue 24): double coding blind, its figures, resolutions that
become analyst assignments and survive re-runs, the classifier's proposals that never
override a person, the Reliability sheet; nobody outside the project's analysts sees any
of it."""
from __future__ import annotations

import math
import re

import pytest
import sqlalchemy as sa

from surveyapp import operations
from surveyapp.domain.agreement import cohen_kappa, krippendorff_alpha, percent_agreement
from surveyapp.domain.reliability import NO_THEME
from surveyapp.extensions import db
from surveyapp.models import (AuditEvent, CodingDecision, CodingResolution, CodingSample,
                              ThemeAssignment, User)
from surveyapp.operations import coding as coding_operations
from surveyapp.operations.coding import CodingRefused
from surveyapp.queries import coding as coding_queries
from tests.helpers import (PASSWORD, analyst_client, csrf, login, page_url, question_source, run,
                           theme_ids)

SECOND = "second@example.org"


def _second_analyst(app, email=SECOND, role="analyst"):
    with app.app_context():
        operations.transaction(lambda: operations.staff.create_user(
            email, PASSWORD, [role], operations.staff.project_by_name("Council")))
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def _user_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def _url(project, tail=""):
    base, _, query = page_url(project).partition("?")
    return f"{base}/{tail}?{query}"


def _lights_and_police(app, project):
    labels = theme_ids(app, project)
    lights = next(i for label, i in labels.items() if "light" in label or "dark" in label)
    police = next(i for i in labels.values() if i != lights)
    return lights, police


def _draw(client, project, coders, size=12, seed=7):
    url = _url(project, "coding")
    reply = client.post(url, data={"csrf_token": csrf(client, url), "size": str(size),
                                   "seed": str(seed), "coders": [str(c) for c in coders]})
    assert reply.status_code == 302, reply.text
    return int(re.search(r"/coding/(\d+)", reply.headers["Location"]).group(1))


def _code(client, project, sample_id, codes, action="save"):
    url = _url(project, f"coding/{sample_id}/code")
    data = {"csrf_token": csrf(client, url), "action": action}
    data.update({f"code-{ref}": value for ref, value in codes.items()})
    return client.post(url, data=data)


def _figure(html, name):
    return re.search(rf'data-figure="{name}">([^<]*)', html).group(1).strip()


@pytest.fixture
def coded(app, project):
    """Engine run (2 themes), a sample of all 12 answers for two analysts; the first
    codes every answer as its planted theme, the second swaps two of them."""
    run(app, question_source(project), k=2)
    first, second = analyst_client(app), _second_analyst(app)
    ids = [_user_id(app, "analyst@example.org"), _user_id(app, SECOND)]
    sample_id = _draw(first, project, ids)
    lights, police = _lights_and_police(app, project)
    with app.app_context():
        refs = list(db.session.get(CodingSample, sample_id).refs)
    truth = {f"r{r}:safer_ideas": (lights if n < 6 else police)
             for n, r in enumerate(project["responses"])}
    mine = {ref: str(truth[ref]) for ref in refs}
    theirs = dict(mine)
    swapped = refs[:2]
    for ref in swapped:
        theirs[ref] = str(police if truth[ref] == lights else lights)
    theirs[refs[2]] = "none"
    return {"first": first, "second": second, "sample": sample_id, "refs": refs, "mine": mine,
            "theirs": theirs, "lights": lights, "police": police, "ids": ids,
            "disagree": swapped + [refs[2]]}


def test_a_sample_is_drawn_with_its_seed_and_can_be_drawn_again(app, project, coded):
    with app.app_context():
        sample = db.session.get(CodingSample, coded["sample"])
        assert sample.seed == 7 and sample.size == 12 and sorted(sample.refs) == sorted(coded["mine"])
        assert [c.user_id for c in sample.coders] == coded["ids"]
        source = question_source(project)
        users = [db.session.get(User, i) for i in coded["ids"]]
        again = operations.transaction(lambda: coding_operations.draw_sample(
            source, 5, users, seed=7).refs)
        other = operations.transaction(lambda: coding_operations.draw_sample(
            source, 5, users, seed=8).refs)
        assert again == operations.transaction(lambda: coding_operations.draw_sample(
            source, 5, users, seed=7).refs)
        assert again != other and len(set(again)) == 5
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "coding.sample_drawn").order_by(AuditEvent.id))
        assert event.actor == "analyst@example.org" and event.details["seed"] == 7


@pytest.mark.parametrize("size, coders, code", [
    (0, 2, "bad_size"), (501, 2, "bad_size"), (5, 1, "few_coders")])
def test_a_sample_needs_a_size_and_two_coders(app, project, size, coders, code):
    _second_analyst(app)
    with app.app_context():
        users = [db.session.get(User, _user_id(app, e)) for e in ("analyst@example.org", SECOND)]
        with pytest.raises(CodingRefused) as refused:
            operations.transaction(lambda: coding_operations.draw_sample(
                question_source(project), size, users[:coders]))
        assert refused.value.code == code


def test_coders_must_be_analysts_of_the_project(app, project):
    with app.app_context():
        users = [db.session.get(User, _user_id(app, e))
                 for e in ("analyst@example.org", "outsider@example.org")]
        with pytest.raises(CodingRefused) as refused:
            operations.transaction(lambda: coding_operations.draw_sample(
                question_source(project), 5, users))
        assert refused.value.code == "not_analyst"


def test_coding_is_blind_until_every_coder_has_finished(app, project, coded):
    first, second, sample = coded["first"], coded["second"], coded["sample"]
    assert _code(first, project, sample, coded["mine"], "done").status_code == 302
    # The second coder's page shows none of the first coder's codes (nor the engine's).
    page = second.get(_url(project, f"coding/{sample}/code"))
    assert page.status_code == 200
    assert page.text.count('value="" selected') == 12 and page.text.count(" selected>") == 12
    assert "set by an analyst" not in page.text and "found by the engine" not in page.text
    # Nor does the results page, for either of them, until both are done.
    for client in (first, second):
        results = client.get(_url(project, f"coding/{sample}"))
        assert results.status_code == 200
        assert "Cohen" not in results.text and "data-figure" not in results.text
        assert "every coder has finished" in results.text
    with app.app_context():
        assert coding_queries.results(db.session.get(CodingSample, sample)) is None
    # The second coder saves part, comes back: their own codes only.
    half = dict(list(coded["theirs"].items())[:4])
    assert _code(second, project, sample, half).status_code == 302
    page = second.get(_url(project, f"coding/{sample}/code"))
    assert page.text.count('value="" selected') == 8
    # A finished coder cannot change their codes.
    reply = _code(first, project, sample, {coded["refs"][0]: "none"})
    assert reply.status_code == 302
    with app.app_context():
        row = db.session.scalar(sa.select(CodingDecision).where(
            CodingDecision.user_id == coded["ids"][0], CodingDecision.ref == coded["refs"][0]))
        assert row.theme_id == int(coded["mine"][coded["refs"][0]])


def test_results_show_the_coefficients_of_the_stored_codes(app, project, coded):
    first, second, sample = coded["first"], coded["second"], coded["sample"]
    _code(first, project, sample, coded["mine"], "done")
    _code(second, project, sample, coded["theirs"], "done")
    page = first.get(_url(project, f"coding/{sample}"))
    assert page.status_code == 200 and "Cohen" in page.text
    with app.app_context():
        stored = {}
        for d in db.session.scalars(sa.select(CodingDecision).where(
                CodingDecision.sample_id == sample)):
            stored.setdefault(d.user_id, {})[d.ref] = d.theme_id if d.theme_id is not None else NO_THEME
    a = [stored[coded["ids"][0]][r] for r in coded["refs"]]
    b = [stored[coded["ids"][1]][r] for r in coded["refs"]]
    kappa, alpha = cohen_kappa(a, b), krippendorff_alpha([[x, y] for x, y in zip(a, b)])
    assert 0 < kappa < 1 and 0 < alpha < 1
    assert _figure(page.text, "kappa") == f"{kappa:.2f}"
    assert _figure(page.text, "alpha") == f"{alpha:.2f}"
    assert _figure(page.text, "agreement") == f"{percent_agreement(a, b):.2f}"
    # Every disagreement is listed, with both coders' codes.
    for ref in coded["disagree"]:
        assert f'name="item" value="{ref}"' in page.text
    assert page.text.count('name="item"') == 3


def test_a_resolution_is_recorded_becomes_the_analysts_and_scores_the_machine(app, project, coded):
    first, second, sample = coded["first"], coded["second"], coded["sample"]
    _code(first, project, sample, coded["mine"], "done")
    _code(second, project, sample, coded["theirs"], "done")
    url = _url(project, f"coding/{sample}/resolve")
    for ref in coded["disagree"]:
        reply = first.post(url, data={"csrf_token": csrf(first, _url(project, f"coding/{sample}")),
                                      "item": ref, "theme": coded["mine"][ref]})
        assert reply.status_code == 302
    with app.app_context():
        resolutions = db.session.scalars(sa.select(CodingResolution)).all()
        assert {r.ref for r in resolutions} == set(coded["disagree"])
        assert all(r.resolved_by_id == coded["ids"][0] and r.resolved_at for r in resolutions)
        rows = {f"r{r.response_id}:{r.answer_key}": r for r in db.session.scalars(
            sa.select(ThemeAssignment).where(ThemeAssignment.assigned_by == "analyst"))}
        assert set(rows) == set(coded["disagree"])
        assert all(rows[ref].theme_id == int(coded["mine"][ref]) and rows[ref].basis == "resolved"
                   and rows[ref].user_id == coded["ids"][0] for ref in rows)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "coding.resolved")) == 3
        results = coding_queries.results(db.session.get(CodingSample, sample), n_boot=0)
        machine, resolved = results.machine, list(results.figures.resolved)
    # Resolved codes: the agreed code, else the resolution; the engine scored against them.
    assert resolved == [int(coded["mine"][r]) for r in coded["refs"]]
    assert results.figures.machine.kappa.value == pytest.approx(cohen_kappa(resolved, machine))
    page = first.get(_url(project, f"coding/{sample}"))
    assert "The automatic coding agreed with the analysts" in page.text
    assert "Settled on" in page.text


def test_a_rerun_leaves_double_coding_and_resolutions_alone(app, project, coded):
    first, second, sample = coded["first"], coded["second"], coded["sample"]
    _code(first, project, sample, coded["mine"], "done")
    _code(second, project, sample, coded["theirs"], "done")
    ref = coded["disagree"][0]
    # Settle against the planted truth, so that the engine disagrees with the analysts.
    wrong = coded["police"] if int(coded["mine"][ref]) == coded["lights"] else coded["lights"]
    first.post(_url(project, f"coding/{sample}/resolve"), data={
        "csrf_token": csrf(first, _url(project, f"coding/{sample}")), "item": ref, "theme": str(wrong)})

    def state():
        with app.app_context():
            decisions = sorted((d.user_id, d.ref, d.theme_id, d.label) for d in
                               db.session.scalars(sa.select(CodingDecision)))
            resolutions = [(r.ref, r.theme_id) for r in db.session.scalars(sa.select(CodingResolution))]
            analyst = sorted((r.response_id, r.theme_id, r.basis, r.user_id) for r in db.session.scalars(
                sa.select(ThemeAssignment).where(ThemeAssignment.assigned_by == "analyst")))
            return decisions, resolutions, analyst

    before = state()
    assert before[2] and before[2][0][1] == wrong
    run(app, question_source(project), k=2)
    run(app, question_source(project), k=3)
    assert state() == before


def test_only_the_projects_analysts_open_the_coding_pages(app, project, coded):
    sample = coded["sample"]
    partner = _second_analyst(app, "partner@example.org", "partner")
    outsider = analyst_client(app, "outsider@example.org")
    tails = ["coding", f"coding/{sample}", f"coding/{sample}/code", "proposals"]
    for tail in tails:
        assert partner.get(_url(project, tail)).status_code == 403, tail
        assert outsider.get(_url(project, tail)).status_code in (403, 404), tail
    for tail in ["coding", f"coding/{sample}/code", f"coding/{sample}/resolve", "proposals"]:
        assert partner.post(_url(project, tail), data={}).status_code in (400, 403), tail
    # An analyst of the project who is not a coder cannot code the sample.
    third = _second_analyst(app, "third@example.org")
    page = third.get(_url(project, f"coding/{sample}/code"))
    assert page.status_code == 200 and "not one of this sample's coders" in page.text
    assert "<select" not in page.text
    assert _code(third, project, sample, {coded["refs"][0]: "none"}).status_code == 302
    with app.app_context():
        assert not db.session.scalars(sa.select(CodingDecision)).all()
    assert third.get(_url(project, "coding")).status_code == 200


def _sheet(app, project, name):
    import io

    import openpyxl

    from surveyapp.models import Campaign
    from surveyapp.queries.export import filters_for_campaign, write_export
    with app.app_context():
        stream = io.BytesIO()
        write_export(filters_for_campaign(db.session.get(Campaign, project["campaign_id"])), stream)
    book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True)
    if name not in book.sheetnames:
        return None
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]], list(rows[0])


def test_each_assignment_says_who_made_it_and_the_themes_sheet_counts_what_a_person_confirmed(
        app, project, coded):
    first, second, sample = coded["first"], coded["second"], coded["sample"]
    _code(first, project, sample, coded["mine"], "done")
    _code(second, project, sample, coded["theirs"], "done")
    for ref in coded["disagree"]:
        first.post(_url(project, f"coding/{sample}/resolve"), data={
            "csrf_token": csrf(first, _url(project, f"coding/{sample}")), "item": ref,
            "theme": coded["mine"][ref]})
    # One more set on the theme page by the second analyst: theirs, no basis.
    other = next(r for r in coded["refs"] if r not in coded["disagree"])
    base, _, query = page_url(project).partition("?")
    reply = second.post(f"{base}/edit?{query}", data={
        "csrf_token": csrf(second, page_url(project)), "action": "assign", "item": other,
        "theme": coded["mine"][other]})
    assert reply.status_code == 302
    with app.app_context():
        rows = {f"r{r.response_id}:{r.answer_key}": r for r in db.session.scalars(
            sa.select(ThemeAssignment).where(ThemeAssignment.assigned_by == "analyst"))}
        assert rows[other].user_id == coded["ids"][1] and rows[other].basis is None
        assert {rows[r].basis for r in coded["disagree"]} == {"resolved"}
    table, header = _sheet(app, project, "Themes")
    assert header[:11] == ["source", "item", "text", "theme", "count", "percent", "key_phrases",
                           "positive", "neutral", "negative", "quotes"]
    assert header[-2:] == ["confirmed_by_a_person", "accepted_proposals"]
    question = [r for r in table if r["source"] == "question"]
    assert sum(r["count"] for r in question) == 12
    expected = {}
    for ref in coded["disagree"] + [other]:
        expected[int(coded["mine"][ref])] = expected.get(int(coded["mine"][ref]), 0) + 1
    labels = {v: k for k, v in theme_ids(app, project).items()}
    assert {r["theme"]: r["confirmed_by_a_person"] for r in question} == {
        labels[t]: expected.get(t, 0) for t in labels}
    assert all(r["accepted_proposals"] == 0 for r in question)


# ----------------------------------------------------------------------------- proposals

def _planted(n, seed):
    """``n`` varied answers of each kind: lighting, policing (distinct vocabularies)."""
    import random
    rng = random.Random(seed)
    places = ["the park", "Mill Lane", "the estate", "the bus stop", "our street", "the alley",
              "the school gate", "the car park"]
    lights = ["street lights {v} near {p}", "it is too dark at night by {p}, {v} lamps",
              "{p} needs lighting, the lamps are {v}", "dark at night around {p}: lights {v}"]
    lamps = ["broken", "flickering", "out", "off", "dim", "missing"]
    police = ["more police patrols on foot around {p} {t}", "officers should walk {p} {t}",
              "police presence at {p} {t} would help", "see police patrolling {p} {t}"]
    times = ["in the evening", "at weekends", "after school", "every night", "on Fridays"]
    return ([rng.choice(lights).format(v=rng.choice(lamps), p=rng.choice(places)) for _ in range(n)],
            [rng.choice(police).format(t=rng.choice(times), p=rng.choice(places)) for _ in range(n)])


@pytest.fixture
def taught(app, project):
    """44 more answers of each kind planted; the engine run; an analyst sets the theme of
    32 of each kind by hand (one of them "wrongly"), the rest are left to the classifier."""
    from tests.helpers import plant
    lights_texts, police_texts = _planted(44, 3)
    more = plant(app, app.test_client(), project["code"], lights_texts + police_texts)
    run(app, question_source(project), k=2)
    lights, police = _lights_and_police(app, project)
    lights_refs = [f"r{r}:safer_ideas" for r in project["responses"][:6] + more[:44]]
    police_refs = [f"r{r}:safer_ideas" for r in project["responses"][6:] + more[44:]]
    with app.app_context():
        from surveyapp.models import Theme
        analyst = db.session.scalar(sa.select(User).where(User.email == "analyst@example.org"))
        source = question_source(project)
        for refs, theme_id in ((lights_refs[:32], lights), (police_refs[:32], police)):
            operations.transaction(lambda: operations.themes.assign(
                source, refs, db.session.get(Theme, theme_id), actor=analyst))
        # A person's code the classifier would not give: it must stay.
        operations.transaction(lambda: operations.themes.assign(
            source, [lights_refs[0]], db.session.get(Theme, police), actor=analyst))
    return {"lights": lights, "police": police, "lights_refs": lights_refs,
            "police_refs": police_refs, "open": lights_refs[32:] + police_refs[32:]}


def test_proposals_wait_for_thirty_coded_texts_per_theme(app, project):
    run(app, question_source(project), k=2)
    page = analyst_client(app).get(_url(project, "proposals"))
    assert page.status_code == 200 and "Not enough texts are coded" in page.text
    assert "data-figure" not in page.text


def test_proposals_show_held_out_kappa_first_and_never_override_a_person(app, project, taught):
    client = analyst_client(app)
    page = client.get(_url(project, "proposals"))
    assert page.status_code == 200, page.text
    with app.app_context():
        found = coding_queries.proposals(question_source(project))
        persons = {f"r{r.response_id}:{r.answer_key}": (r.theme_id, r.basis, r.user_id)
                   for r in db.session.scalars(sa.select(ThemeAssignment).where(
                       ThemeAssignment.assigned_by == "analyst"))}
    # The held-out kappa shown is the model's, and it is shown before anything is accepted.
    kappa = found.model.agreement
    assert _figure(page.text, "held-out").startswith(f"{kappa.value:.2f}")
    assert kappa.value > 0.8 and kappa.ci_low <= kappa.value <= kappa.ci_high
    proposed = {item.ref: p for item, p in found.rows}
    assert set(proposed) == set(taught["open"])          # only texts nobody coded
    assert all(p is None or p.confidence >= found.threshold for p in proposed.values())
    right = sum(1 for ref, p in proposed.items() if p is not None and p.code ==
                (taught["lights"] if ref in taught["lights_refs"] else taught["police"]))
    assert right >= 0.8 * len(proposed)
    assert all(p.words for p in proposed.values() if p is not None)
    # Accept one by one: a person's text among the chosen is not touched.
    chosen = [ref for ref, p in proposed.items() if p is not None][:3]
    url = _url(project, "proposals")
    reply = client.post(url, data={"csrf_token": csrf(client, url),
                                   "items": chosen + [taught["lights_refs"][0]]})
    assert reply.status_code == 302
    # Then all at or above 0.5.
    reply = client.post(url, data={"csrf_token": csrf(client, url), "min_confidence": "0.5"})
    assert reply.status_code == 302
    with app.app_context():
        rows = {f"r{r.response_id}:{r.answer_key}": r for r in db.session.scalars(
            sa.select(ThemeAssignment).where(ThemeAssignment.assigned_by == "analyst"))}
        for ref, before in persons.items():
            assert (rows[ref].theme_id, rows[ref].basis, rows[ref].user_id) == before
        assert rows[taught["lights_refs"][0]].theme_id == taught["police"]
        accepted = {ref: r for ref, r in rows.items() if r.basis == "proposal"}
        assert set(chosen) <= set(accepted) <= set(taught["open"])
        assert all(r.user_id == persons[taught["lights_refs"][1]][2] and r.confidence >= 0.5
                   and r.evidence for r in accepted.values())
        assert all(accepted[ref].theme_id == proposed[ref].code for ref in accepted)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "coding.proposals_accepted")) == 2
        before = sorted((r.response_id, r.theme_id, r.basis, r.user_id, r.confidence)
                        for r in rows.values())
    # Accepted proposals are not a person's codes: the classifier does not learn from them.
    with app.app_context():
        again = coding_queries.proposals(question_source(project))
        assert again.model.n_train == found.model.n_train
    # A re-run of the engine leaves people's codes and accepted proposals as they are.
    run(app, question_source(project), k=3)
    with app.app_context():
        after = sorted((r.response_id, r.theme_id, r.basis, r.user_id, r.confidence)
                       for r in db.session.scalars(sa.select(ThemeAssignment).where(
                           ThemeAssignment.assigned_by == "analyst")))
    assert after == before
    table, _header = _sheet(app, project, "Themes")
    assert sum(r["accepted_proposals"] for r in table if r["source"] == "question") == len(accepted)


# ----------------------------------------------------------------------------- the workbook

def test_the_reliability_sheet_waits_for_every_coder_and_reports_the_stored_codes(app, project, coded):
    first, second, sample = coded["first"], coded["second"], coded["sample"]
    _code(first, project, sample, coded["mine"], "done")
    _code(second, project, sample, coded["theirs"])
    # One coder done, the other not: the file holds nobody's codes nor figures.
    assert _sheet(app, project, "Reliability") is None
    about, _header = _sheet(app, project, "About")
    assert not any(r["item"] == "reliability" for r in about)
    _code(second, project, sample, {}, "done")
    table, header = _sheet(app, project, "Reliability")
    assert header[:3] == ["sample", "source", "item"]
    a = [int(coded["mine"][r]) for r in coded["refs"]]
    b = [NO_THEME if coded["theirs"][r] == "none" else int(coded["theirs"][r]) for r in coded["refs"]]
    overall = {r["coefficient"]: r for r in table
               if r["comparison"] == "coders" and r["code"] == "all codes"}
    assert overall["Cohen's kappa"]["value"] == pytest.approx(cohen_kappa(a, b), abs=1e-4)
    assert overall["Krippendorff's alpha (nominal)"]["value"] == pytest.approx(
        krippendorff_alpha([[x, y] for x, y in zip(a, b)]), abs=1e-4)
    assert overall["percent agreement (0-1)"]["value"] == pytest.approx(percent_agreement(a, b), abs=1e-4)
    for row in overall.values():
        assert row["ci_low"] <= row["value"] <= row["ci_high"] and row["units"] == 12
        assert row["sample"] == sample and row["seed"] == 7 and row["texts"] == 12
        assert row["coders"] == f"analyst@example.org, {SECOND}"
    labels = {v: k for k, v in theme_ids(app, project).items()}
    per_code = {r["code"] for r in table if r["comparison"] == "coders"}
    assert per_code == {"all codes", "no theme", *labels.values()}
    assert any(r["comparison"] == "engine vs resolved codes" for r in table)
    about, _header = _sheet(app, project, "About")
    line = next(r["value"] for r in about if r["item"] == "reliability")
    assert f"kappa {cohen_kappa(a, b):.2f}" in line and f"sample {sample}" in line
