"""Capacity scores: per response, per domain; summaries by site and wave. No app."""
import math
from pathlib import Path

import pytest
from scipy import stats

from surveyapp.domain.instruments import InstrumentError, load_file, load_instrument
from surveyapp.domain.scoring import (
    Moments, capacity_table, changed_across, changed_items, domain_reliability, domain_scores, moments_of,
    score_response, welch)

ROOT = Path(__file__).resolve().parents[2]

TWO_DOMAINS = """
id: tiny
version: "1"
languages: [en, es]
default_language: en
title: {en: Tiny, es: Pequeño}
consent: {en: Fine, es: Bien}
choice_lists:
  agree:
    - {value: 1, label: {en: Disagree, es: En desacuerdo}}
    - {value: 2, label: {en: Unsure, es: No sé}}
    - {value: 3, label: {en: Agree, es: De acuerdo}}
pages:
  - id: one
    questions:
      - {id: safe, type: likert, choices: agree, label: {en: I feel safe, es: Me siento seguro}}
      - id: trust
        type: matrix
        choices: agree
        label: {en: Trust, es: Confianza}
        items:
          - {id: police, label: {en: The police, es: La policía}}
          - {id: council, label: {en: The council, es: El ayuntamiento}}
          - {id: unfair, label: {en: I am treated unfairly, es: Me tratan mal}}
          - {id: neighbours, label: {en: Neighbours, es: Vecinos}}
scoring:
  scale: {min: 1, max: 3}
  domains:
    - id: trust
      label: {en: Trust, es: Confianza}
      items: [trust.police, trust.council, trust.unfair, trust.neighbours]
      reverse: [trust.unfair]
    - id: safety
      label: {en: Safety, es: Seguridad}
      items: [safe]
"""
TINY = load_instrument(TWO_DOMAINS)


def test_scores_equal_hand_computed_values_with_reverse_items():
    # trust: 3, 2, reverse(1) = 3, 1 -> mean 9/4 = 2.25 -> (2.25-1)/(3-1)*100 = 62.5
    # safety: 3 -> 100
    answers = {"trust.police": 3, "trust.council": 2, "trust.unfair": 1,
               "trust.neighbours": 1, "safe": 3}
    assert domain_scores(TINY, answers) == {"trust": 62.5, "safety": 100.0}
    assert score_response(TINY, answers)["trust"].n_items == 4


def test_the_shipped_instrument_scores_its_reverse_item():
    capacity = load_file(ROOT / "instruments" / "community-capacity.yaml")
    items = {"resources.meeting_places": 5, "resources.organisations": 4,
             "resources.youth_activities": 3, "resources.services": 2,
             "resources.unwilling_help": 1}  # reversed: 6 - 1 = 5
    # (5+4+3+2+5)/5 = 3.8 -> (3.8-1)/4*100 = 70
    assert domain_scores(capacity, items)["resources"] == pytest.approx(70.0)


@pytest.mark.parametrize("answers, expected", [
    ({"trust.police": 3, "trust.council": 3}, 100.0),           # 2 of 4: exactly half
    ({"trust.police": 3}, None),                                # 1 of 4: too few
    ({"trust.police": 3, "trust.council": "dk"}, None),         # a "don't know" code: unanswered
    ({"trust.police": 3, "trust.council": 9}, None),            # outside the scale
    ({"trust.police": 3, "trust.council": "3"}, None),          # text is not a scale value
    ({"trust.police": 3, "trust.council": True}, None),         # nor is a boolean
    ({}, None),
])
def test_the_share_rule_and_non_numeric_answers(answers, expected):
    assert domain_scores(TINY, answers)["trust"] == expected


def test_the_share_is_a_parameter_and_an_instrument_setting():
    answers = {"trust.police": 3, "trust.council": 1, "trust.unfair": 3}
    assert domain_scores(TINY, answers, min_answered=1.0)["trust"] is None
    assert domain_scores(TINY, answers, min_answered=0.75)["trust"] == pytest.approx(100 / 3)  # 3, 1, 4-3
    strict = load_instrument(TWO_DOMAINS.replace("scale: {min: 1, max: 3}",
                                                 "scale: {min: 1, max: 3}\n  min_answered: 1"))
    assert domain_scores(strict, answers)["trust"] is None
    assert domain_scores(strict, {**answers, "trust.neighbours": 2})["trust"] == pytest.approx(37.5)


def test_a_bad_min_answered_is_reported():
    with pytest.raises(InstrumentError, match="min_answered of scoring must be a share"):
        load_instrument(TWO_DOMAINS.replace("scale: {min: 1, max: 3}",
                                            "scale: {min: 1, max: 3}\n  min_answered: 2"))


def test_an_instrument_without_scoring_has_no_domains():
    assert domain_scores(load_file(ROOT / "tests" / "data" / "mini-guide.yaml"), {}) == {}


# ----------------------------------------------------------------------------- summaries

def test_a_cell_has_n_mean_sd_and_a_t_based_ci():
    scores = [50.0, 62.5, 75.0, 80.0, 100.0]
    table = capacity_table([("A", "baseline", "trust", s) for s in scores], waves=["baseline"])
    cell = table.cell("A", "baseline", "trust")
    mean, sd = sum(scores) / 5, stats.tstd(scores)
    half = stats.t.ppf(0.975, 4) * sd / math.sqrt(5)
    assert (cell.n, cell.suppressed) == (5, False)
    assert cell.mean == pytest.approx(mean) and cell.sd == pytest.approx(sd)
    assert (cell.ci_low, cell.ci_high) == (pytest.approx(mean - half), pytest.approx(mean + half))


def test_the_change_uses_welch_with_satterthwaite_df():
    before = [40.0, 45.0, 50.0, 55.0, 52.5, 47.5]
    after = [50.0, 70.0, 65.0, 90.0, 55.0, 80.0, 75.0]
    rows = [("A", "baseline", "trust", s) for s in before] + [
        ("A", "follow-up 1", "trust", s) for s in after]
    change = capacity_table(rows, waves=["baseline", "follow-up 1"]).change("A", "follow-up 1", "trust")
    reference = stats.ttest_ind(after, before, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert change.difference == pytest.approx(sum(after) / 7 - sum(before) / 6)
    assert change.df == pytest.approx(reference.df)
    assert (change.ci_low, change.ci_high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert change.comparable and not change.suppressed


def test_waves_follow_the_project_order_and_all_sites_are_summed():
    rows = [(site, wave, "trust", 10.0 * i) for i in range(5)
            for site in ("B", "A") for wave in ("z-last", "follow-up 1", "baseline")]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], min_cell_size=5)
    assert table.waves == ("baseline", "follow-up 1", "z-last")
    assert table.sites == ("A", "B")
    assert table.cell(None, "baseline", "trust").n == 10
    assert [(c.site, c.follow_up) for c in table.changes] == [
        ("A", "follow-up 1"), ("A", "z-last"), ("B", "follow-up 1"), ("B", "z-last"),
        (None, "follow-up 1"), (None, "z-last")]


def test_small_cells_and_their_changes_are_suppressed():
    rows = [("Big", w, "trust", float(s)) for w in ("baseline", "follow-up 1") for s in range(10, 70, 10)]
    rows += [("Small", "baseline", "trust", float(s)) for s in range(10, 70, 10)]
    rows += [("Small", "follow-up 1", "trust", float(s)) for s in (10, 20, 30, 40)]  # 4 < 5
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], min_cell_size=5)
    small = table.cell("Small", "follow-up 1", "trust")
    assert small.suppressed and (small.n, small.mean, small.sd, small.ci_low) == (None,) * 4
    assert not table.cell("Small", "baseline", "trust").suppressed
    change = table.change("Small", "follow-up 1", "trust")
    assert change.suppressed and change.difference is None and change.ci_low is None
    # The all-sites cell counts the small site's four: 10 in all, not suppressed; so Big's
    # follow-up (the only other site) is hidden too, or 10 less Big's 6 would give Small's.
    assert table.cell(None, "follow-up 1", "trust").n == 10
    assert table.cell("Big", "follow-up 1", "trust").suppressed
    assert table.change("Big", "follow-up 1", "trust").suppressed
    assert not table.cell("Big", "baseline", "trust").suppressed
    assert not table.change(None, "follow-up 1", "trust").suppressed
    assert capacity_table(rows, waves=["baseline"], min_cell_size=4).cell(
        "Small", "follow-up 1", "trust").n == 4


def test_moments_merge_like_the_rows_they_stand_for():
    rows = [("A", "w", "d", 1.0), ("A", "w", "d", 3.0), ("A", "w", "d", None)]
    moments = moments_of(rows)[("A", "w", "d")]
    assert (moments.n, moments.mean, moments.variance) == (2, 2.0, 2.0)
    same = Moments()
    same.merge(moments)
    assert capacity_table({("A", "w", "d"): same}, waves=["w"], min_cell_size=2).cell(
        "A", "w", "d").mean == 2.0


def test_identical_scores_on_both_sides_give_a_zero_width_interval():
    difference, low, high, df = welch(Moments(5, 250.0, 12500.0), Moments(5, 500.0, 50000.0))
    assert (difference, low, high, df) == (50.0, 50.0, 50.0, None)


# ----------------------------------------------------------------------------- comparable items

def test_changed_items_are_flagged_between_two_versions():
    reworded = load_instrument(
        TWO_DOMAINS.replace("{id: council, label: {en: The council, es: El ayuntamiento}}",
                            "{id: council, label: {en: The town council, es: El ayuntamiento}}")
        .replace("No sé}", "Ni idea}"))  # a choice label, in Spanish only: every item
    assert changed_items(TINY, TINY) == {"trust": (), "safety": ()}
    assert changed_items(TINY, load_instrument(TWO_DOMAINS.replace('version: "1"', 'version: "2"'))) \
        == {"trust": (), "safety": ()}
    assert changed_items(TINY, reworded) == {
        "trust": ("trust.police", "trust.council", "trust.unfair", "trust.neighbours"),
        "safety": ("safe",)}
    only_council = load_instrument(TWO_DOMAINS.replace("The council,", "The town council,"))
    assert changed_items(TINY, only_council) == {"trust": ("trust.council",), "safety": ()}
    unreversed = load_instrument(TWO_DOMAINS.replace("reverse: [trust.unfair]", "reverse: []"))
    assert changed_items(TINY, unreversed)["trust"] == ("trust.unfair",)
    # A wave answered on two versions: an item changed in either pair is changed.
    assert changed_across([TINY], [TINY, only_council, unreversed]) == {
        "trust": ("trust.council", "trust.unfair"), "safety": ()}
    assert changed_across([], [TINY]) == {}


def test_a_domain_with_changed_items_gets_no_change():
    rows = [("A", w, d, float(s)) for w in ("baseline", "follow-up 1") for d in ("trust", "safety")
            for s in range(10, 70, 10)]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"],
                           changed={("A", "follow-up 1"): {"trust": ("trust.council",), "safety": ()}})
    trust = table.change("A", "follow-up 1", "trust")
    assert (trust.comparable, trust.changed_items, trust.difference) == (False, ("trust.council",), None)
    safety = table.change("A", "follow-up 1", "safety")
    assert safety.comparable and safety.difference == 0.0
    # All sites: no versions given for None, so it is compared.
    assert table.change(None, "follow-up 1", "trust").comparable


def test_one_small_site_is_not_left_to_subtraction_from_all_sites():
    """Riverside 8, Hillcrest 6, Quay 3 at the baseline: Quay is suppressed, and so is
    Hillcrest (the smallest other), since all sites (17) less Riverside and Hillcrest would
    give Quay's n and mean back. Their changes go too; Riverside's and all sites' stay."""
    rows = ([("Riverside", "baseline", "trust", s) for s in (40, 45, 50, 55, 60, 65, 70, 75)]
            + [("Hillcrest", "baseline", "trust", s) for s in (20, 30, 40, 50, 60, 70)]
            + [("Quay", "baseline", "trust", s) for s in (90, 95, 100)]
            + [(site, "follow-up 1", "trust", s) for site in ("Riverside", "Hillcrest", "Quay")
               for s in (50, 60, 70, 80, 90)])
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], min_cell_size=5)
    assert table.cell("Quay", "baseline", "trust").suppressed
    assert table.cell("Hillcrest", "baseline", "trust").suppressed
    hillcrest = table.cell("Hillcrest", "baseline", "trust")
    assert hillcrest.n is None and hillcrest.mean is None
    assert table.cell("Riverside", "baseline", "trust").mean == pytest.approx(57.5)
    assert table.cell(None, "baseline", "trust").n == 17
    for site in ("Quay", "Hillcrest"):
        change = table.change(site, "follow-up 1", "trust")
        assert change.suppressed and change.difference is None, site
    assert table.change("Riverside", "follow-up 1", "trust").difference == pytest.approx(70 - 57.5)
    # Every site's follow-up has 5: nothing to hide there.
    assert not any(table.cell(site, "follow-up 1", "trust").suppressed
                   for site in ("Riverside", "Hillcrest", "Quay"))
    # Two small sites: each hides the other; no third cell is needed.
    two = capacity_table(rows + [("Dock", "baseline", "trust", 10)] * 2,
                         waves=["baseline", "follow-up 1"], min_cell_size=5)
    assert [two.cell(s, "baseline", "trust").suppressed for s in ("Dock", "Hillcrest", "Quay", "Riverside")] == [
        True, False, True, False]


def test_all_sites_change_compares_only_the_sites_measured_in_both_waves():
    """Hillcrest has a follow-up, Riverside only a baseline (high scores): the all-sites
    change must be Hillcrest's alone, not Hillcrest's follow-up against both baselines."""
    rows = [("Hillcrest", "baseline", "trust", float(s)) for s in (40, 42, 44, 46, 48)]
    rows += [("Hillcrest", "follow-up 1", "trust", float(s)) for s in (50, 52, 54, 56, 58)]
    rows += [("Riverside", "baseline", "trust", float(s)) for s in (80, 82, 84, 86, 88)]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], min_cell_size=5)
    overall = table.change(None, "follow-up 1", "trust")
    hillcrest = table.change("Hillcrest", "follow-up 1", "trust")
    assert overall.sites == ("Hillcrest",) and hillcrest.sites == ("Hillcrest",)
    assert overall.difference == pytest.approx(10.0) == hillcrest.difference
    assert overall.baseline_mean == pytest.approx(44.0)
    # The all-sites baseline cell itself still holds every site measured then.
    assert table.cell(None, "baseline", "trust").n == 10


def test_all_sites_change_is_hidden_when_it_would_single_out_a_small_left_out_site():
    """C (2 people, baseline only) is suppressed; the all-sites baseline (A+B+C) less the
    change's baseline (A+B) would give C's mean back, so that change is hidden."""
    rows = [(site, wave, "trust", float(s)) for site in ("A", "B")
            for wave in ("baseline", "follow-up 1") for s in range(10, 70, 10)]
    rows += [("C", "baseline", "trust", float(s)) for s in (20, 30)]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], min_cell_size=5)
    assert table.cell("C", "baseline", "trust").suppressed
    change = table.change(None, "follow-up 1", "trust")
    assert change.sites == ("A", "B") and change.suppressed and change.baseline_mean is None
    without_c = capacity_table([r for r in rows if r[0] != "C"], waves=["baseline", "follow-up 1"])
    assert not without_c.change(None, "follow-up 1", "trust").suppressed


def test_each_change_carries_hedges_g_welch_p_and_a_bh_q_across_the_table():
    from surveyapp.domain.statistics import benjamini_hochberg, hedges_g
    rng = __import__("random").Random(4)
    scores = {(site, wave, domain): [rng.gauss(50 + (8 if wave != "baseline" and domain == "trust" else 0), 15)
                                     for _ in range(30)]
              for site in ("A", "B") for wave in ("baseline", "follow-up 1") for domain in ("trust", "skills")}
    rows = [(site, wave, domain, s) for (site, wave, domain), values in scores.items() for s in values]
    table = capacity_table(rows, waves=["baseline", "follow-up 1"], domains=["trust", "skills"])
    for change in table.changes:
        if change.site is None:
            continue
        before = scores[(change.site, "baseline", change.domain)]
        after = scores[(change.site, "follow-up 1", change.domain)]
        reference = hedges_g(before, after)
        assert change.effect.value == pytest.approx(reference.value)
        assert (change.effect.ci_low, change.effect.ci_high) == (
            pytest.approx(reference.ci_low), pytest.approx(reference.ci_high))
        assert change.p_value == pytest.approx(stats.ttest_ind(after, before, equal_var=False).pvalue)
    expected = benjamini_hochberg([c.p_value for c in table.changes])
    assert [c.q_value for c in table.changes] == pytest.approx(expected)
    assert all(c.q_value >= c.p_value - 1e-12 for c in table.changes)


def test_a_hidden_change_has_no_effect_size_or_p():
    rows = [("Small", w, "trust", float(s)) for w in ("baseline", "follow-up 1") for s in (10, 20, 30)]
    change = capacity_table(rows, waves=["baseline", "follow-up 1"]).change("Small", "follow-up 1", "trust")
    assert change.suppressed and (change.effect, change.p_value, change.q_value) == (None, None, None)


def test_domain_reliability_flips_reverse_items_and_names_the_item_that_lowers_alpha():
    instrument = TINY
    domain = instrument.scoring.domains[0]
    answers = []
    for level in (1, 2, 3, 2, 3, 1, 2, 3):
        row = {item: (4 - level if item in domain.reverse else level) for item in domain.items}
        row["trust.neighbours"] = {1: 3, 2: 1, 3: 2}[level]     # an item that does not fit
        answers.append(row)
    result = domain_reliability(instrument, answers)[domain.id]
    # The reverse-worded item agrees once flipped; the misfit is named as the one to drop.
    assert result.lowering == ("trust.neighbours",)
    assert result.if_deleted["trust.neighbours"] == pytest.approx(1.0)
    assert result.alpha < 0.7
