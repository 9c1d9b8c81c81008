"""Machine-vs-analyst kappa before and after the classifier learns from the analysts: the
engine's themes (named by the analysts' majority code) against the classifier trained on
10 (planted) or 30 (SIB-200 English) coded answers per code, scored on the answers no
analyst coded. Run: PYTHONPATH=. .venv/bin/python bench/coding_agreement.py"""
import csv
import sys
from collections import Counter

sys.path.insert(0, '.')
from tests.domain.test_coder import split, planted, SIB
from surveyapp.domain.coder import train, agreement_with
from surveyapp.domain.themes import extract_themes
for name in ("planted", "sib"):
    if name == "planted":
        texts, labels = planted(); per = 10; kw = dict(min_per_code=10)
    else:
        rows = list(csv.DictReader(open(SIB, encoding="utf-8"), delimiter="\t"))
        texts, labels = [r["text"] for r in rows], [r["category"] for r in rows]; per = 30; kw = {}
    coded = split(texts, labels, per_code=per)
    rest = [i for i, c in enumerate(coded) if c is None]
    # before: the engine's themes, each named by the analysts' majority code among its coded answers
    result = extract_themes(texts, language="en", k=len(set(labels)))
    name_of = {}
    for t in range(len(result.themes)):
        votes = Counter(coded[i] for i, a in enumerate(result.assignments) if a == t and coded[i])
        name_of[t] = votes.most_common(1)[0][0] if votes else None
    before = agreement_with([labels[i] for i in rest], [name_of.get(result.assignments[i]) for i in rest])
    model = train(texts, coded, language="en", **kw)
    proposals = model.propose([texts[i] for i in rest], threshold=0.0)
    after = agreement_with([labels[i] for i in rest], [p.code for p in proposals])
    print(name, f"engine-vs-truth kappa {before.value:.3f} [{before.ci_low:.3f}, {before.ci_high:.3f}]",
          f"classifier {after.value:.3f} [{after.ci_low:.3f}, {after.ci_high:.3f}]",
          f"held-out estimate shown beforehand {model.agreement.value:.3f}")
