"""Codes that spread from the analysts' decisions: a classifier trained on the answers
analysts coded proposes codes for the rest, each with a confidence and the words that
drove it, and says beforehand how well it agrees with the analysts.

Plain data in, plain data out::

    from surveyapp.domain.coder import train, readiness
    ready = readiness(codes)                      # which codes have enough examples
    model = train(texts, codes, language="en")    # only codes with >= min_per_code examples
    model.agreement                               # cross-validated kappa vs the analysts
    model.propose(other_texts, threshold=0.6)     # Proposal(code, confidence, words) or None

How: each answer becomes the stems NLTK gives it (``themes_text``: the same tokens as
theme extraction, stop words out, one language per profile) plus character 3-5-grams
of its words (misspellings share most of theirs), TF-IDF weighted; a one-vs-rest
logistic regression (scikit-learn's ``liblinear``: a deterministic solver, no random
start, so the same decisions on every CPU) learns the analysts' codes. ``agreement`` is
Cohen's kappa between the analysts' codes and the model's predictions made by models
that did not see them (stratified k-fold, seeded), with a bootstrap 95% CI: what the
analysts are shown before they accept anything. A proposal under ``threshold`` stays
unthemed (None). The model never sees, and a caller never overrides, a person's code:
it only proposes for answers no person coded.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

from surveyapp.domain.agreement import Estimate, kappa_estimate
from surveyapp.domain.themes_text import BOUNDARY, profile

MIN_PER_CODE = 30
DEFAULT_THRESHOLD = 0.6
FOLDS = 5


@dataclass(frozen=True)
class Proposal:
    """A proposed code for one answer: ``confidence`` is the model's probability (0-1),
    ``words`` the answer's words that pushed most towards the code, strongest first."""
    code: Hashable
    confidence: float
    words: tuple[str, ...]


@dataclass(frozen=True)
class Readiness:
    """Whether the analysts' codes are enough to learn from: each code's number of
    examples and the ones still short of ``min_per_code``."""
    counts: dict
    short: tuple
    min_per_code: int

    @property
    def ready(self) -> bool:
        return len(self.counts) - len(self.short) >= 2


def readiness(codes: Sequence[Hashable | None], min_per_code: int = MIN_PER_CODE) -> Readiness:
    """How many coded examples each code has (None: not coded) and which are short."""
    counts = Counter(code for code in codes if code is not None)
    short = tuple(sorted((c for c, n in counts.items() if n < min_per_code), key=str))
    return Readiness(dict(counts), short, min_per_code)


class CodeModel:
    """A trained classifier (see the module docstring); make one with :func:`train`."""

    def __init__(self, vectorizer, classifier, codes: tuple, agreement: Estimate, n_train: int,
                 surfaces: dict):
        self._vectorizer, self._classifier = vectorizer, classifier
        self.codes, self.agreement, self.n_train = codes, agreement, n_train
        self._surfaces = surfaces
        self._features = vectorizer.get_feature_names_out()

    def propose(self, texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD
                ) -> list[Proposal | None]:
        """One proposal per text, or None where the best code's confidence is under
        ``threshold`` (or the text has nothing the model knows)."""
        if not texts:
            return []
        matrix = self._vectorizer.transform([_document(t, self._profile) for t in texts])
        probabilities = self._classifier.predict_proba(matrix)
        out: list[Proposal | None] = []
        for row, chances in enumerate(probabilities):
            best = int(np.argmax(chances))
            confidence = float(chances[best])
            if matrix[row].nnz == 0 or confidence < threshold:
                out.append(None)
                continue
            own = _surfaces([texts[row]], self._profile)    # the answer's own spelling
            out.append(Proposal(self.codes[best], round(confidence, 6),
                                self._why(matrix[row], best, own)))
        return out

    def _why(self, row, best: int, own: dict[str, str]) -> tuple[str, ...]:
        """The answer's stems whose weight times the code's coefficient is largest."""
        estimators = self._classifier.estimators_
        # Two codes: one model, whose coefficients point towards the second code.
        weights = estimators[best if len(estimators) > 1 else 0].coef_[0]
        sign = 1 if len(estimators) > 1 or best == 1 else -1
        contributions = [(sign * row[0, j] * weights[j], self._features[j]) for j in row.indices]
        words = []
        for value, feature in sorted(contributions, key=lambda c: (-c[0], c[1])):
            if value <= 0 or not feature.startswith("w:"):
                continue
            words.append(own.get(feature[2:]) or self._surfaces.get(feature[2:], feature[2:]))
            if len(words) == 5:
                break
        return tuple(words)


def train(texts: Sequence[str], codes: Sequence[Hashable | None], *, language: str = "en",
          min_per_code: int = MIN_PER_CODE, seed: int = 0) -> CodeModel:
    """Learn the analysts' codes from ``texts`` (``codes[i]`` None: not coded, left out).

    Only codes with at least ``min_per_code`` examples are learnt (others cannot be
    proposed); raises ValueError when fewer than two codes qualify."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    if len(texts) != len(codes):
        raise ValueError("texts and codes differ in length")
    ready = readiness(codes, min_per_code)
    learnt = sorted((c for c in ready.counts if c not in ready.short), key=str)
    if len(learnt) < 2:
        raise ValueError(f"need at least two codes with {min_per_code} coded answers each "
                         f"(have: {ready.counts})")
    keep = [i for i, code in enumerate(codes) if code in set(learnt)]
    prep = profile(language)
    documents = [_document(texts[i], prep) for i in keep]
    labels = [codes[i] for i in keep]
    vectorizer = TfidfVectorizer(analyzer=str.split, sublinear_tf=True, min_df=2, dtype=np.float64)
    agreement = _cross_validated(documents, labels, seed)
    matrix = vectorizer.fit_transform(documents)
    classifier = _classifier(seed).fit(matrix, labels)
    surfaces = _surfaces([texts[i] for i in keep], prep)
    model = CodeModel(vectorizer, classifier, tuple(classifier.classes_), agreement, len(keep), surfaces)
    model._profile = prep
    return model


def _classifier(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    # liblinear: a deterministic coordinate-descent solver in its own C code (no BLAS),
    # one model per code against the rest; balanced weights so that a large code does
    # not swallow small ones.
    return OneVsRestClassifier(LogisticRegression(solver="liblinear", C=4.0,
                                                  class_weight="balanced", random_state=seed,
                                                  max_iter=1000))


def _cross_validated(documents: list[str], labels: list, seed: int) -> Estimate:
    """Kappa of held-out predictions against the analysts' codes (stratified k-fold)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    smallest = min(Counter(labels).values())
    folds = max(2, min(FOLDS, smallest))
    predicted: list = [None] * len(labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(np.zeros(len(labels)), labels):
        vectorizer = TfidfVectorizer(analyzer=str.split, sublinear_tf=True, min_df=2, dtype=np.float64)
        matrix = vectorizer.fit_transform([documents[i] for i in train_rows])
        classifier = _classifier(seed).fit(matrix, [labels[i] for i in train_rows])
        guesses = classifier.predict(vectorizer.transform([documents[i] for i in test_rows]))
        for row, guess in zip(test_rows, guesses):
            predicted[row] = guess
    return kappa_estimate(labels, predicted, seed=seed)


def _document(text: str, prep) -> str:
    """The answer as features: "w:<stem>" per content word, "c:<n-gram>" per character
    3-5-gram of each word (so "streetlights" and "street lights" meet)."""
    features = []
    for token in prep.tokens(text or ""):
        if token.stop or token.term == BOUNDARY or " " in token.term:
            continue
        features.append("w:" + token.term)
        word = f"<{token.surface.lower()}>"
        for n in (3, 4, 5):
            features += ["c:" + word[i:i + n] for i in range(max(len(word) - n + 1, 0))]
    return " ".join(features)


def _surfaces(texts: Sequence[str], prep) -> dict[str, str]:
    """Each stem's commonest written form (a person reads "lights", not "light")."""
    seen: dict[str, Counter] = {}
    for text in texts:
        for token in prep.tokens(text or ""):
            if not token.stop and token.term != BOUNDARY and " " not in token.term:
                seen.setdefault(token.term, Counter())[token.surface.lower()] += 1
    return {term: min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            for term, counts in seen.items()}


def agreement_with(analyst_codes: Sequence[Hashable | None], machine_codes: Sequence[Hashable | None],
                   seed: int = 0) -> Estimate:
    """Kappa (with its bootstrap CI) of the machine's codes against the analysts' on the
    units both coded: "the automatic coding agreed with the analysts at kappa 0.71"."""
    return kappa_estimate(list(analyst_codes), list(machine_codes), seed=seed)

