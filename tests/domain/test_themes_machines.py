"""The same texts give the same themes whatever BLAS kernel and thread count run them.

OpenBLAS picks its kernel by CPU, so CI and an analyst's server can run different
floating-point code. Each case below runs ``extract_themes`` in a fresh interpreter
under one ``OPENBLAS_CORETYPE`` x ``OPENBLAS_NUM_THREADS`` and prints a fingerprint
(a hash of every assignment and label); all six must be equal. No app.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "themes"
KERNELS = ("Prescott", "Haswell", "SkylakeX")
THREADS = (1, 2)

# (file, language, k): the planted sets at automatic and fixed k, and SIB-200 slices
# (encyclopaedic sentences, seven topics: many near-equal distances, the hard case).
CASES = [
    ("survey_en.tsv", "en", None), ("survey_en.tsv", "en", 3),
    ("survey_es.tsv", "es", None), ("survey_es.tsv", "es", 3),
    ("survey_zh.tsv", "zh", None), ("survey_mixed_en.tsv", "en", None),
    ("survey_mixed_langs.tsv", "en", None),
    ("sib200_eng_Latn.tsv", "en", None), ("sib200_eng_Latn.tsv", "en", 7),
    ("sib200_fra_Latn.tsv", "fr", None), ("sib200_zho_Hans.tsv", "zh", 7),
    ("sib200_arb_Arab.tsv", "ar", None),
]

_SCRIPT = r"""
import hashlib, json, sys
from pathlib import Path
from surveyapp.domain.themes import extract_themes
out = {}
for name, language, k in json.loads(sys.argv[1]):
    rows = Path(sys.argv[2], name).read_text(encoding="utf-8").splitlines()
    texts = [row.split("\t", 1)[1] for row in rows]
    result = extract_themes(texts, language=language, k=k)
    summary = [result.assignments, [(t.label, t.key_phrases, t.key_words, t.quotes, t.top)
                                    for t in result.themes],
               [(t.label, t.themes) for t in result.top_themes]]
    digest = hashlib.sha256(json.dumps(summary, ensure_ascii=False).encode()).hexdigest()
    out[f"{name}:{k}"] = digest[:16]
print(json.dumps(out, sort_keys=True))
"""


@lru_cache(maxsize=None)
def fingerprints(kernel: str, threads: int) -> dict[str, str]:
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    done = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(CASES), str(DATA)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_assignments_and_labels_are_identical_on_every_blas_kernel_and_thread_count(kernel, threads):
    reference = fingerprints(KERNELS[0], THREADS[0])
    assert set(reference) == {f"{name}:{k}" for name, _, k in CASES}
    assert fingerprints(kernel, threads) == reference
