"""How well extract_themes recovers known groups, next to a plain baseline in the same run.

    PYTHONPATH=. .venv/bin/python bench/themes_quality.py [FILE[:LANG] ...] [--seeds 0,1,2]

FILE is UTF-8 ``label<TAB>text`` lines, or a SIB-200 TSV (header ``index_id category
text``). LANG defaults to the file name: ``eng_Latn.tsv`` -> en, ``survey_fr.tsv`` -> fr.
With no FILE it runs every SIB-200 file in shared/data/sib200 (found next to the repo or
one level up), bench/data (see its README: licences) and the planted survey answers in
tests/data/themes.

The engine never sees the labels. For each file it prints NMI, ARI and accuracy after
Hungarian matching of themes to labels (unthemed answers count as one extra, wrong,
group), at k = the number of labels and at automatic k (with the k chosen), and the
baseline (RegexpTokenizer + Snowball + English stop words + TF-IDF + k-means) at k =
the number of labels. Figures are medians over the seeds. After the automatic-k row, a
label audit of the last seed's run: the share of labels with a content word, the median
label length in words, duplicated labels, labels with " / ", and ten labels.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveyapp.domain.themes import extract_themes  # noqa: E402

ISO3 = {"eng": "en", "spa": "es", "fra": "fr", "arb": "ar", "ara": "ar", "zho": "zh",
        "cmn": "zh", "vie": "vi", "som": "so"}


def read_labelled(path: Path) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and parts[:3] == ["index_id", "category", "text"]:
                continue
            if len(parts) >= 3 and parts[0].isdigit():       # SIB-200: index_id, category, text
                label, text = parts[1], "\t".join(parts[2:])
            elif len(parts) >= 2:
                label, text = parts[0], "\t".join(parts[1:])
            else:
                continue
            labels.append(label)
            texts.append(text)
    return labels, texts


def language_of(path: Path) -> str:
    stem = path.stem
    head = stem.split("_")[0].lower()
    if head in ISO3:
        return ISO3[head]
    tail = stem.rsplit("_", 1)[-1].lower()
    return tail if len(tail) == 2 else "en"


def accuracy(truth: list[str], found: list[int]) -> float:
    """Share of answers whose theme maps to their label under the best one-to-one matching."""
    labels = sorted(set(truth))
    clusters = sorted(set(found))
    table = np.zeros((len(clusters), len(labels)))
    for t, f in zip(truth, found):
        table[clusters.index(f), labels.index(t)] += 1
    rows, columns = linear_sum_assignment(-table)
    return float(table[rows, columns].sum() / len(truth))


def scores(truth: list[str], found: list[int]) -> tuple[float, float, float]:
    return (normalized_mutual_info_score(truth, found), adjusted_rand_score(truth, found),
            accuracy(truth, found))


LAST = {}      # the engine's last result, for the label audit


def engine(texts, language, k, seed):
    result = extract_themes(texts, language=language, k=k, seed=seed)
    LAST["result"] = result
    return [-1 if a is None else a for a in result.assignments], result.parameters.chosen_k


def label_audit(result, language) -> str:
    """Share of labels holding a content word (a non-stop word of the theme's language),
    median length in words, duplicated labels, labels with " / ", and ten labels."""
    from surveyapp.domain.themes_text import profile
    labels = [t.label for t in result.themes]
    if not labels:
        return "  labels: none"
    content = 0
    for theme in result.themes:
        prep = profile((theme.languages or (language,))[0])
        if any(not tok.stop for tok in prep.tokens(theme.label)):
            content += 1
    lengths = [len(label.split()) for label in labels]
    duplicates = len(labels) - len(set(labels))
    slashes = sum(" / " in label for label in labels)
    tops = f", {len(result.top_themes)} top themes" if result.top_themes else ""
    return (f"  labels: {content / len(labels):.0%} with a content word, median "
            f"{statistics.median(lengths):g} words, {duplicates} duplicated, {slashes} with ' / '"
            f"{tops}\n  sample: " + " | ".join(labels[:10]))


def baseline(texts, language, k, seed):
    """The plain recipe a first attempt would use; the engine has to beat it."""
    from nltk.stem.snowball import SnowballStemmer
    from nltk.tokenize import RegexpTokenizer
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    names = {"en": "english", "es": "spanish", "fr": "french", "ar": "arabic"}
    stem = SnowballStemmer(names[language]).stem if language in names else (lambda w: w)
    tokenizer = RegexpTokenizer(r"\w+")

    def analyse(text):
        return [stem(w) for w in tokenizer.tokenize(text.lower()) if w not in ENGLISH_STOP_WORDS]
    matrix = TfidfVectorizer(analyzer=analyse).fit_transform(texts)
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(matrix).tolist(), k


def default_files() -> list[tuple[Path, str]]:
    for base in (ROOT.parent, ROOT.parent.parent, ROOT):
        folder = base / "shared" / "data" / "sib200"
        if folder.is_dir():
            break
    else:
        sys.exit("shared/data/sib200 not found next to the repo; pass FILE arguments")
    files = (sorted(folder.glob("*.tsv")) + sorted((ROOT / "bench" / "data").glob("*.tsv"))
             # the sib200_* slices there are the first rows of the files above
             + sorted(p for p in (ROOT / "tests" / "data" / "themes").glob("*.tsv")
                      if not p.name.startswith("sib200_")))
    return [(path, language_of(path)) for path in files]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="FILE or FILE:LANG")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    files = []
    for spec in args.files:
        path, _, language = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
        files.append((Path(path), language or language_of(Path(path))))
    files = files or default_files()

    print(f"{'file':<18}{'lang':<5}{'n':>6}{'labels':>7}  {'run':<16}{'k':>4}"
          f"{'NMI':>7}{'ARI':>7}{'acc':>7}{'sec':>7}")
    for path, language in files:
        truth, texts = read_labelled(path)
        k_true = len(set(truth))
        for name, run, k in (("engine k=labels", engine, k_true), ("engine auto k", engine, None),
                             ("baseline k=lab.", baseline, k_true)):
            results, ks, seconds = [], [], []
            for seed in seeds:
                start = time.perf_counter()
                found, chosen = run(texts, language, k, seed)
                seconds.append(time.perf_counter() - start)
                results.append(scores(truth, found))
                ks.append(chosen)
            nmi, ari, acc = (statistics.median(r[i] for r in results) for i in range(3))
            k_shown = "/".join(str(c) for c in ks) if k is None else str(k)
            print(f"{path.name[:17]:<18}{language:<5}{len(texts):>6}{k_true:>7}  {name:<16}"
                  f"{k_shown:>4}{nmi:>7.3f}{ari:>7.3f}{acc:>7.3f}{statistics.median(seconds):>7.2f}",
                  flush=True)
            if name == "engine auto k":
                print(label_audit(LAST["result"], language), flush=True)


if __name__ == "__main__":
    main()
