"""The classifier that learns the analysts' codes: it agrees with held-out codes, says so
before anyone accepts its proposals, proposes nothing it is unsure of, and explains each
proposal with the answer's own words. No app."""
from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import pytest

from surveyapp.domain.agreement import cohen_kappa
from surveyapp.domain.coder import agreement_with, readiness, train

DATA = Path(__file__).resolve().parents[1] / "data" / "themes"
SIB = Path(__file__).resolve().parents[3] / "shared" / "data" / "sib200" / "eng_Latn.tsv"


def planted():
    rows = [line.split("\t", 1) for line in (DATA / "survey_en.tsv").read_text(encoding="utf-8").splitlines()]
    return [text for _, text in rows], [label for label, _ in rows]


def split(texts, labels, per_code, seed=0):
    """``per_code`` answers of each code "coded by analysts", the rest left to propose."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    taken, coded = {}, [None] * len(texts)
    for i in order:
        if taken.get(labels[i], 0) < per_code:
            taken[labels[i]] = taken.get(labels[i], 0) + 1
            coded[i] = labels[i]
    return coded


def test_readiness_counts_examples_and_names_the_short_codes():
    ready = readiness(["a"] * 30 + ["b"] * 29 + [None] * 5 + ["c"] * 31)
    assert ready.counts == {"a": 30, "b": 29, "c": 31} and ready.short == ("b",) and ready.ready
    assert not readiness(["a"] * 40 + ["b"] * 3).ready


def test_proposals_for_the_uncoded_answers_agree_with_the_planted_codes():
    texts, labels = planted()
    coded = split(texts, labels, per_code=10)
    model = train(texts, coded, language="en", min_per_code=10)
    assert set(model.codes) == {"lighting", "police", "youth"} and model.n_train == 30
    # Held-out agreement is known before any proposal is accepted.
    assert 0.5 <= model.agreement.value <= 1.0 and model.agreement.n_units == 30
    rest = [i for i, code in enumerate(coded) if code is None]
    proposals = model.propose([texts[i] for i in rest], threshold=0.0)
    kappa = cohen_kappa([labels[i] for i in rest], [p.code for p in proposals])
    assert kappa >= 0.8, kappa
    # Every proposal is explained by words the answer itself holds.
    for i, proposal in zip(rest, proposals):
        assert 0 <= proposal.confidence <= 1
        assert all(word in texts[i].lower() for word in proposal.words), (texts[i], proposal.words)
    assert sum(bool(p.words) for p in proposals) >= len(proposals) * 0.9


def test_under_the_threshold_a_proposal_stays_unthemed():
    texts, labels = planted()
    model = train(texts, split(texts, labels, per_code=10), language="en", min_per_code=10)
    sure = model.propose(texts, threshold=0.0)
    none = model.propose(texts + ["", "qqq zzz"], threshold=1.01)
    assert all(p is not None for p in sure) and all(p is None for p in none)
    assert model.propose(["", "the and of"], threshold=0.0) == [None, None]  # nothing known


def test_too_few_examples_is_refused_with_what_is_missing():
    texts, labels = planted()
    with pytest.raises(ValueError, match="at least two codes with 30"):
        train(texts, split(texts, labels, per_code=10), language="en")


def test_the_same_model_on_every_run():
    texts, labels = planted()
    coded = split(texts, labels, per_code=10, seed=3)
    a = train(texts, coded, language="en", min_per_code=10)
    b = train(texts, coded, language="en", min_per_code=10)
    assert a.agreement == b.agreement or (math.isnan(a.agreement.ci_low) and math.isnan(b.agreement.ci_low))
    assert a.propose(texts) == b.propose(texts)


@pytest.mark.skipif(not SIB.exists(), reason="shared/data/sib200 is not beside the checkout")
def test_thirty_coded_answers_per_code_on_real_sentences_beat_chance_by_far():
    with SIB.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    texts, labels = [r["text"] for r in rows], [r["category"] for r in rows]
    coded = split(texts, labels, per_code=30)
    model = train(texts, coded, language="en")
    rest = [i for i, code in enumerate(coded) if code is None]
    proposals = model.propose([texts[i] for i in rest], threshold=0.0)
    measured = agreement_with([labels[i] for i in rest], [p.code for p in proposals])
    # Seven encyclopaedic topics from 30 examples each: far above chance, and the held-out
    # estimate shown beforehand is close to what the proposals then achieve.
    assert measured.value >= 0.35, measured          # 0.455 here
    assert abs(model.agreement.value - measured.value) <= 0.15        # 0.489 against 0.455
