"""Time extract_themes on 10,000 and 100,000 short answers against one tokenise-and-stem pass.

    PYTHONPATH=. .venv/bin/python bench/themes_speed.py [--sizes 10000,100000] [--runs 3]

The answers are the planted survey answers of tests/data/themes/survey_en.tsv, each
varied by a fixed random generator (words dropped, a filler word or misspelling added),
so the vocabulary and lengths look like real short answers. The reference is what any
theme run must do at least once: RegexpTokenizer + SnowballStemmer over every answer,
in the same process. Prints medians over the runs (the machine is shared and noisy) and
the peak memory traced by tracemalloc in one extra run (tracing slows the run, so it is
not timed). Aim: extraction within 5x the reference pass.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveyapp.domain.themes import extract_themes  # noqa: E402

EXTRA = ["pls", "asap", "really", "honestly", "every day", "for years", "in my area", "lol",
         "near the school", "on weekends", "idk", "thx", "srsly", "at nite", "2 much"]


def answers(n: int, seed: int = 0) -> list[str]:
    rows = (ROOT / "tests" / "data" / "themes" / "survey_en.tsv").read_text(encoding="utf-8")
    base = [line.split("\t", 1)[1] for line in rows.splitlines()]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choice(base).split()
        if len(words) > 4 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words) + 1), rng.choice(EXTRA))
        if rng.random() < 0.2:          # a typo: two letters swapped
            i = rng.randrange(len(words))
            w = words[i]
            if len(w) > 3:
                j = rng.randrange(len(w) - 1)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        out.append(" ".join(words))
    return out


def reference_pass(texts: list[str]) -> int:
    """One tokenise-and-stem pass, as plainly as it can be written."""
    from nltk.stem.snowball import SnowballStemmer
    from nltk.tokenize import RegexpTokenizer
    tokenizer, stem = RegexpTokenizer(r"\w+"), SnowballStemmer("english").stem
    return sum(len([stem(w) for w in tokenizer.tokenize(t.lower())]) for t in texts)


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    extract_themes(answers(200), language="en")        # imports and VADER data, not timed
    print(f"{'answers':>8}{'pass s':>9}{'themes s':>10}{'ratio':>7}{'k':>4}{'peak MB':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        texts = answers(size)
        passes, runs = [], []
        for _ in range(args.runs):
            passes.append(timed(reference_pass, texts))
            runs.append(timed(lambda: extract_themes(texts, language="en")))
        tracemalloc.start()
        result = extract_themes(texts, language="en")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        base, ours = statistics.median(passes), statistics.median(runs)
        print(f"{size:>8}{base:>9.2f}{ours:>10.2f}{ours / base:>7.1f}"
              f"{result.parameters.chosen_k:>4}{peak:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
