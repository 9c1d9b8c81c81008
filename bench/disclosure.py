"""What the disclosure-control layer costs an analyst in precision, and what it stops.

    PYTHONPATH=. .venv/bin/python bench/disclosure.py [--secrets 200]

Record keys are the stored random column in the app; here ``model_keys(seed)`` stands in
for them (each "secret" below is one draw of every record's key).

Prints, for the layer (cell-key rounding to base 5) and, for comparison, an ABS-style
cell-key noise table of +-2 (variance 1):

1. the mean absolute change to counts of 5, 20 and 100, and averaged over the five counts
   from each (the layer leaves multiples of 5 alone, so the averages are the fair figure);
2. issue 22's differencing attack (tests/disclosure_attack.py): the share of the 3-person
   site's small cells whose exact count some subtraction gives back, before the layer
   (main's suppression), with the noise table and with the layer, over many secrets;
3. an averaging attack: the 3-person site's response count estimated as the mean of
   Q subtractions (one per question: the project's choice counts less the other sites'),
   rounded; the share of secrets for which that gives the exact count.

Counts only, no timing: the figures are the same on any machine.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveyapp.domain.disclosure import (  # noqa: E402
    KEY_RANGE, Disclosure, ProtectedCount, Tally, cell_key, model_keys)
from tests.disclosure_attack import (  # noqa: E402
    as_before, attack, exact, people, protected_cells, publish, with_layer)

# ABS-style perturbation table: maximum 2, variance 1, mean 0; no result below zero.
NOISE = {0: ((0, 1.0),), 1: ((-1, 1 / 3), (0, 1 / 3), (1, 1 / 3)),
         2: ((-2, 0.2), (-1, 0.2), (0, 0.2), (1, 0.2), (2, 0.2))}
NOISE_LARGE = ((-2, 0.05), (-1, 0.3), (0, 0.3), (1, 0.3), (2, 0.05))


class NoiseTable(Disclosure):
    """The layer with the noise table in place of rounding (same keys, same suppression)."""

    def count_of(self, n, key_sum=None) -> ProtectedCount:
        if isinstance(n, Tally):
            n, key_sum = n.n, n.key_sum
        u = cell_key([key_sum or 0]) / KEY_RANGE
        cumulative = 0.0
        for change, p in NOISE.get(n, NOISE_LARGE):
            cumulative += p
            if u < cumulative:
                break
        return ProtectedCount(n + change, suppressed=0 < n < self.min_cell_size)


def mean_absolute_change(make, n: int, cells: int, rng: random.Random) -> tuple[float, int]:
    layer = make("bench")
    changes = [abs(layer.count(f"r{i}" for i in rng.sample(range(10 ** 6), n)).value - n)
               for _ in range(cells)]
    return statistics.mean(changes), max(changes)


def attack_rate(protect_of, secrets: int) -> tuple[int, int]:
    hits = total = 0
    for index in range(secrets):
        group = people(index % 10)
        truth = protected_cells(group)
        hits += len(exact(attack(publish(group, protect_of(f"secret-{index}"))), truth))
        total += len(truth)
    return hits, total


def averaging_rate(make, questions: int, secrets: int) -> float:
    """Share of secrets for which the rounded mean of ``questions`` subtractions is the
    3-person site's exact response count."""
    rng = random.Random(1)
    sites = {"A": 36, "B": 27, "C": 3}
    members = {site: [f"r{site}{i}" for i in range(size)] for site, size in sites.items()}
    answers = {(q, r): rng.randrange(3) for q in range(questions)
               for rs in members.values() for r in rs}
    everyone = [r for rs in members.values() for r in rs]
    exact_hits = 0
    for index in range(secrets):
        layer = make(f"secret-{index}")
        estimates = []
        for q in range(questions):
            def value(records, choice):
                return layer.count(r for r in records if answers[(q, r)] == choice).value
            estimates.append(sum(value(everyone, c) - value(members["A"], c) - value(members["B"], c)
                                 for c in range(3)))
        exact_hits += round(statistics.mean(estimates)) == sites["C"]
    return exact_hits / secrets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=200)
    parser.add_argument("--cells", type=int, default=2000, help="cells per count for the changes")
    args = parser.parse_args()
    methods = {"rounding to 5 (the layer)": lambda s: Disclosure(5, keys=model_keys(s)),
               "noise +-2, variance 1": lambda s: NoiseTable(5, keys=model_keys(s))}

    print("1. mean absolute change (max) to a count of n")
    for name, make in methods.items():
        rng = random.Random(0)
        parts = []
        for n in (5, 20, 100):
            at, top = mean_absolute_change(make, n, args.cells, rng)
            window = [mean_absolute_change(make, m, args.cells // 5, rng) for m in range(n, n + 5)]
            parts.append(f"n={n}: {at:.2f} (max {top}); n={n}..{n + 4}: "
                         f"{statistics.mean(w[0] for w in window):.2f} (max {max(w[1] for w in window)})")
        print(f"   {name}: " + "; ".join(parts))

    print(f"2. differencing attack: small cells of the 3-person site given back exactly "
          f"({args.secrets} secrets, 10 projects)")
    hits, total = attack_rate(lambda s: as_before(5), args.secrets)
    print(f"   before the layer: {hits} of {total} ({100 * hits / total:.0f}%)")
    for name, make in methods.items():
        hits, total = attack_rate(lambda s, make=make: with_layer(make(s)), args.secrets)
        print(f"   {name}: {hits} of {total} ({100 * hits / total:.1f}%)")

    print(f"3. averaging attack on the 3-person site's response count "
          f"(share of {args.secrets} secrets where it comes out exact)")
    for name, make in methods.items():
        rates = [f"Q={q}: {100 * averaging_rate(make, q, args.secrets):.0f}%" for q in (1, 5, 30)]
        print(f"   {name}: " + ", ".join(rates))


if __name__ == "__main__":
    main()
