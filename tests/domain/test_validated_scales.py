"""The two validated scales shipped as instruments: collective efficacy (Sampson,
Raudenbush and Earls 1997) and police legitimacy and procedural justice (Sunshine and
Tyler 2003; the Urban Institute's resident survey). Their texts exist in all seven
languages, their domains have the items and reverse items of the scales, every
adapted item says so, and a response worked out by hand scores as expected.
No app, no database."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from surveyapp.domain.instruments import load_file
from surveyapp.domain.scoring import domain_scores, score_response

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "es", "fr", "ar", "zh", "vi", "so")
EFFICACY_PATH = ROOT / "instruments" / "collective-efficacy.yaml"
POLICE_PATH = ROOT / "instruments" / "police-legitimacy.yaml"
EFFICACY = load_file(EFFICACY_PATH)
POLICE = load_file(POLICE_PATH)

# domain -> (items, reverse items): the scales as published, and as the brief asked.
EXPECTED_DOMAINS = {
    "collective-efficacy": {
        "social_cohesion": (
            ["cohesion.help_neighbours", "cohesion.close_knit", "cohesion.trusted",
             "cohesion.not_get_along", "cohesion.different_values"],
            {"cohesion.not_get_along", "cohesion.different_values"}),
        "informal_control": (
            ["control.skip_school", "control.graffiti", "control.disrespect",
             "control.fight", "control.fire_station"],
            set()),
    },
    "police-legitimacy": {
        "fair_treatment": (
            ["fair_treatment.respect", "fair_treatment.listen", "fair_treatment.explain",
             "fair_treatment.rights"],
            set()),
        "fair_decisions": (
            ["fair_decisions.facts", "fair_decisions.same_service",
             "fair_decisions.richer_better", "fair_decisions.treat_differently"],
            {"fair_decisions.richer_better", "fair_decisions.treat_differently"}),
        "trust": (
            ["trust.trust_police", "trust.do_job", "trust.right_decisions", "trust.honest"],
            set()),
        "cooperation": (
            ["cooperation.report_crime", "cooperation.report_suspicious",
             "cooperation.give_information", "cooperation.find_suspect",
             "cooperation.call_as_victim"],
            set()),
    },
}
BOTH = pytest.mark.parametrize("instrument", [EFFICACY, POLICE], ids=lambda i: i.id)

ARABIC = re.compile(r"[\u0600-\u06FF]")
CJK = re.compile(r"[\u4E00-\u9FFF]")
# Letters only Vietnamese uses among these languages (a Vietnamese text without one
# is most likely English or Somali pasted in the wrong place).
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


def texts_of(instrument):
    """(where, text) for every text a resident or an analyst reads."""
    yield "title", instrument.title
    yield "description", instrument.description
    yield "consent", instrument.consent
    for list_id, choice_list in instrument.choice_lists.items():
        for choice in choice_list.choices:
            yield f"choice {list_id}.{choice.value}", choice.label
    for page in instrument.pages:
        yield f"page {page.id}", page.title
        for question in page.questions:
            yield f"question {question.id}", question.label
            if question.hint is not None:
                yield f"hint {question.id}", question.hint
            for item in question.items:
                yield f"item {question.id}.{item.id}", item.label
    for domain in instrument.scoring.domains:
        yield f"domain {domain.id}", domain.label


@BOTH
def test_every_text_is_in_all_seven_languages_and_translated(instrument):
    assert instrument.languages == LANGUAGES
    checked = 0
    for where, text in texts_of(instrument):
        assert text is not None, where
        assert set(text) == set(LANGUAGES), (where, sorted(text))
        for language in LANGUAGES:
            assert text[language].strip(), (where, language)
        # A copy of the English is a missing translation, whatever the loader says.
        for language in LANGUAGES[1:]:
            assert text[language].strip() != text["en"].strip(), (where, language)
        assert ARABIC.search(text["ar"]), (where, "ar")
        assert CJK.search(text["zh"]), (where, "zh")
        assert not ARABIC.search(text["en"] + text["es"] + text["fr"] + text["vi"] + text["so"])
        checked += 1
    # Vietnamese labels as short as "Có khả năng" still carry its letters.
    assert all(VIETNAMESE.search(text["vi"]) for _, text in texts_of(instrument))
    assert checked >= 25


@BOTH
def test_domains_have_the_scales_items_and_reverse_items(instrument):
    expected = EXPECTED_DOMAINS[instrument.id]
    scoring = instrument.scoring
    assert (scoring.scale_min, scoring.scale_max) == (1, 5)
    assert scoring.min_answered == 0.6
    assert [d.id for d in scoring.domains] == list(expected)
    for domain in scoring.domains:
        items, reverse = expected[domain.id]
        assert list(domain.items) == items, domain.id
        assert set(domain.reverse) == reverse, domain.id
        assert 3 <= len(domain.items) <= 5


def test_item_counts_per_domain():
    assert {d.id: len(d.items) for d in EFFICACY.scoring.domains} == {
        "social_cohesion": 5, "informal_control": 5}
    assert sum(len(d.items) for d in EFFICACY.scoring.domains) == 10
    assert {d.id: len(d.items) for d in POLICE.scoring.domains} == {
        "fair_treatment": 4, "fair_decisions": 4, "trust": 4, "cooperation": 5}


@BOTH
def test_scales_run_from_least_to_most_on_five_points(instrument):
    """Agreement and likelihood, 1 the least favourable: the reverse items are then
    exactly the negatively worded statements."""
    lists = instrument.choice_lists
    assert [c.value for c in lists["agree5"].choices] == [1, 2, 3, 4, 5]
    assert lists["agree5"].choices[0].label["en"] == "Strongly disagree"
    assert lists["agree5"].choices[-1].label["en"] == "Strongly agree"
    assert [c.value for c in lists["likely5"].choices] == [1, 2, 3, 4, 5]
    assert lists["likely5"].choices[0].label["en"] == "Very unlikely"
    assert lists["likely5"].choices[-1].label["en"] == "Very likely"


def test_agreement_and_likelihood_labels_match_the_capacity_survey_and_each_other():
    capacity = load_file(ROOT / "instruments" / "community-capacity.yaml")
    for instrument in (EFFICACY, POLICE):
        assert ([dict(c.label) for c in instrument.choice_lists["agree5"].choices]
                == [dict(c.label) for c in capacity.choice_lists["agree5"].choices])
    assert ([dict(c.label) for c in EFFICACY.choice_lists["likely5"].choices]
            == [dict(c.label) for c in POLICE.choice_lists["likely5"].choices])
    assert EFFICACY.question("cohesion").choices.id == "agree5"
    assert EFFICACY.question("control").choices.id == "likely5"
    assert POLICE.question("cooperation").choices.id == "likely5"


@BOTH
def test_pages_are_short(instrument):
    for page in instrument.pages:
        assert len(page.questions) <= 8, page.id
        for question in page.questions:
            if question.type == "matrix":
                assert 4 <= len(question.items) <= 6, question.id


def _item_comments(path: Path) -> dict[str, str]:
    """Each matrix item id -> its own line's comment plus the comment lines just above it."""
    comments: dict[str, str] = {}
    above: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped)
            continue
        match = re.match(r"\s*- id: ([a-z_]+)\s*(#.*)?$", line)
        if match and line.startswith(" " * 10):   # items sit deeper than pages and questions
            comments[match.group(1)] = " ".join(above + [match.group(2) or ""])
        above = []
    return comments


@pytest.mark.parametrize("path, instrument", [(EFFICACY_PATH, EFFICACY), (POLICE_PATH, POLICE)],
                         ids=["collective-efficacy", "police-legitimacy"])
def test_every_item_says_how_it_was_adapted_and_flags_its_direction(path, instrument):
    comments = _item_comments(path)
    for domain in instrument.scoring.domains:
        for item in domain.items:
            item_id = item.split(".", 1)[1]
            comment = comments.get(item_id, "")
            assert "adapted:" in comment, item
            # The comment's "reverse" and the scoring block agree.
            assert ("reverse" in comment) == (item in domain.reverse), item


def test_sources_are_cited_in_full():
    efficacy = EFFICACY_PATH.read_text(encoding="utf-8")
    assert "Sampson, R. J., Raudenbush, S. W., & Earls, F. (1997)" in efficacy
    assert "Science, 277(5328), 918-924" in efficacy
    police = POLICE_PATH.read_text(encoding="utf-8")
    assert "Sunshine, J., & Tyler, T. R. (2003)" in police
    assert "Law & Society Review, 37(3), 513-548" in police
    assert "National Initiative for" in police and "Urban Institute" in police


@BOTH
def test_consent_says_voluntary_and_anonymous(instrument):
    assert "voluntary" in instrument.consent["en"]
    assert "anonymous" in instrument.consent["en"]
    assert all(not q.pii for q in instrument.questions)


# ----------------------------------------------------------------------------- scores by hand

def test_collective_efficacy_scores_a_response_worked_out_by_hand():
    answers = {
        # cohesion: 5, 4, 4, then the reverse items 2 -> 4 and 1 -> 5:
        # mean 22/5 = 4.4 -> (4.4 - 1) / 4 * 100 = 85
        "cohesion.help_neighbours": 5, "cohesion.close_knit": 4, "cohesion.trusted": 4,
        "cohesion.not_get_along": 2, "cohesion.different_values": 1,
        # control: 1..5, mean 3 -> 50
        "control.skip_school": 1, "control.graffiti": 2, "control.disrespect": 3,
        "control.fight": 4, "control.fire_station": 5,
    }
    assert domain_scores(EFFICACY, answers) == pytest.approx(
        {"social_cohesion": 85.0, "informal_control": 50.0})


def test_collective_efficacy_reverse_items_pull_against_agreement():
    # Agreeing strongly with everything, the two negative statements included:
    # 5, 5, 5, 1, 1 -> mean 3.4 -> 60, not 100.
    answers = {f"cohesion.{item}": 5 for item in
               ("help_neighbours", "close_knit", "trusted", "not_get_along", "different_values")}
    assert domain_scores(EFFICACY, answers)["social_cohesion"] == pytest.approx(60.0)


def test_police_legitimacy_scores_a_response_worked_out_by_hand():
    answers = {
        # fair treatment: 4, 4, 5, 3 -> mean 4 -> 75
        "fair_treatment.respect": 4, "fair_treatment.listen": 4,
        "fair_treatment.explain": 5, "fair_treatment.rights": 3,
        # fair decisions: 4, 3, reverse 5 -> 1, reverse 2 -> 4: mean 3 -> 50
        "fair_decisions.facts": 4, "fair_decisions.same_service": 3,
        "fair_decisions.richer_better": 5, "fair_decisions.treat_differently": 2,
        # trust: 2, 2, 1, 3 -> mean 2 -> 25
        "trust.trust_police": 2, "trust.do_job": 2, "trust.right_decisions": 1,
        "trust.honest": 3,
        # cooperation: 5, 5, 4, 4, 2 -> mean 4 -> 75
        "cooperation.report_crime": 5, "cooperation.report_suspicious": 5,
        "cooperation.give_information": 4, "cooperation.find_suspect": 4,
        "cooperation.call_as_victim": 2,
    }
    assert domain_scores(POLICE, answers) == pytest.approx(
        {"fair_treatment": 75.0, "fair_decisions": 50.0, "trust": 25.0, "cooperation": 75.0})


@pytest.mark.parametrize("instrument, domain, answered, expected", [
    # 3 of 5 answered is enough (0.6 x 5 = 3); 2 of 5 is not.
    (EFFICACY, "informal_control", {"control.fight": 5, "control.graffiti": 3,
                                    "control.fire_station": 4}, 75.0),
    (EFFICACY, "informal_control", {"control.fight": 5, "control.graffiti": 3}, None),
    # 3 of 4 is enough (0.6 x 4 = 2.4, so 3); 2 of 4, which the project default
    # would score, is not.
    (POLICE, "trust", {"trust.trust_police": 1, "trust.do_job": 2, "trust.honest": 3}, 25.0),
    (POLICE, "trust", {"trust.trust_police": 1, "trust.do_job": 2}, None),
    # A reverse item counts among the answered ones: facts 4, richer_better 5 -> 1,
    # same_service 3: (4 + 1 + 3) / 3 = 8/3 -> (8/3 - 1) / 4 * 100 = 41.67
    (POLICE, "fair_decisions", {"fair_decisions.facts": 4, "fair_decisions.richer_better": 5,
                                "fair_decisions.same_service": 3}, 125 / 3),
])
def test_a_domain_needs_three_answered_items(instrument, domain, answered, expected):
    result = score_response(instrument, answered)[domain]
    assert result.n_items == len(answered)
    if expected is None:
        assert result.score is None
    else:
        assert result.score == pytest.approx(expected)
