"""How reliable a double-coded sample is: the figures a results page and the Reliability
sheet show, from the codes as stored. Plain data in, plain data out (domain.agreement
does the arithmetic).

Codes are theme ids; ``NO_THEME`` (0, never a theme id) is a coder's "no theme", which is
a coding, while None is "not coded" (missing). ``coders`` holds one list per coder, each
with one entry per sampled item in the sample's order.

Two coders get Cohen's kappa (overall and per code); any number get Krippendorff's alpha
(nominal, missing codings allowed), and percent agreement (pairwise for more than two).
Each comes with its seeded bootstrap 95% CI. The machine is scored against the resolved
codes (the agreed code, else the coders' resolution) the same way: kappa, alpha and
percent agreement, overall and per code.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from surveyapp.domain.agreement import (
    N_BOOT, Estimate, alpha_estimate, by_unit, codes_used, disagreements, kappa_estimate,
    pairwise_agreement_estimate, per_code_alpha, per_code_kappa, percent_agreement_estimate)
from surveyapp.domain.workbook import Column

NO_THEME = 0


@dataclass(frozen=True)
class CodeFigures:
    """One code judged present/absent: kappa (two coders only, else None) and alpha."""
    code: Hashable
    kappa: Estimate | None
    alpha: Estimate


@dataclass(frozen=True)
class Figures:
    """Overall figures and per-code ones for one set of coders (or analysts vs machine)."""
    n_coders: int
    kappa: Estimate | None            # Cohen's, two coders only
    alpha: Estimate                   # Krippendorff's, nominal
    agreement: Estimate               # percent (pairwise) agreement, 0-1
    per_code: tuple[CodeFigures, ...]


@dataclass(frozen=True)
class Reliability:
    """A finished sample's figures: the coders', the units they disagree on (indexes
    into the sample), the resolved code of each unit (None: a disagreement not yet
    resolved, or nobody coded it), and the machine against those (None without a
    machine coding or without a resolved unit the machine coded)."""
    coders: Figures
    disagreements: tuple[int, ...]
    resolved: tuple
    machine: Figures | None


def figures(coders: Sequence[Sequence], *, codes: Sequence | None = None, n_boot: int = N_BOOT,
            seed: int = 0) -> Figures:
    """The figures of ``coders`` (one list per coder, equal lengths): kappa for two,
    alpha and percent agreement for any number, overall and for each code in ``codes``
    (default: every code used)."""
    units = by_unit(*coders)
    wanted = codes_used(*coders) if codes is None else list(codes)
    two = len(coders) == 2
    options = {"n_boot": n_boot, "seed": seed}
    kappas = per_code_kappa(coders[0], coders[1], wanted, **options) if two else {}
    alphas = per_code_alpha(units, wanted, **options)
    return Figures(
        len(coders),
        kappa_estimate(coders[0], coders[1], **options) if two else None,
        alpha_estimate(units, "nominal", **options),
        (percent_agreement_estimate(coders[0], coders[1], **options) if two
         else pairwise_agreement_estimate(units, **options)),
        tuple(CodeFigures(code, kappas.get(code), alphas[code]) for code in wanted))


def resolved_codes(coders: Sequence[Sequence], resolutions: dict[int, Hashable]) -> list:
    """Each unit's resolved code: the resolution if there is one, else the code every
    coder who coded it gave (None when they differ, or nobody coded it)."""
    out = []
    for index, unit in enumerate(by_unit(*coders)):
        if index in resolutions:
            out.append(resolutions[index])
            continue
        given = {code for code in unit if code is not None}
        out.append(given.pop() if len(given) == 1 else None)
    return out


def reliability(coders: Sequence[Sequence], *, resolutions: dict[int, Hashable] | None = None,
                machine: Sequence | None = None, n_boot: int = N_BOOT, seed: int = 0) -> Reliability:
    """The coders' figures, their disagreements, the resolved codes and, when
    ``machine`` (one entry per unit, None where the machine did not code) is given, the
    machine's figures against the resolved codes."""
    if len(coders) < 2:
        raise ValueError("double coding needs at least two coders")
    units = by_unit(*coders)
    resolved = resolved_codes(coders, resolutions or {})
    scored = None
    if machine is not None:
        if len(machine) != len(resolved):
            raise ValueError("the machine's codes must have one entry per unit")
        if any(a is not None and m is not None for a, m in zip(resolved, machine)):
            scored = figures([resolved, list(machine)], n_boot=n_boot, seed=seed)
    return Reliability(figures(coders, n_boot=n_boot, seed=seed),
                       tuple(d.unit for d in disagreements(units)), tuple(resolved), scored)


# ----------------------------------------------------------------------------- the workbook

@dataclass(frozen=True)
class SampleFigures:
    """A finished sample as the Reliability sheet reports it: which source (kind and
    question or prompt id), its size and seed, the coders (as named in the file), a label
    per code, and the figures."""
    sample: int
    kind: str
    item: str
    size: int
    seed: int
    coders: tuple[str, ...]
    labels: dict
    figures: Reliability


RELIABILITY_COLUMNS = [Column(name, wrap=name in ("coders", "code")) for name in (
    "sample", "source", "item", "texts", "seed", "coders", "comparison", "code", "coefficient",
    "value", "ci_low", "ci_high", "units")]
ALL_CODES = "all codes"


def _label(code, labels: dict) -> str:
    return "no theme" if code == NO_THEME else str(labels.get(code, f"theme {code}"))


def _number(value: float):
    return None if value is None or value != value else round(float(value), 4)   # nan: empty


def reliability_rows(samples: Sequence[SampleFigures]):
    """One row per sample, comparison (the coders; the engine against the resolved
    codes), code (all codes first) and coefficient, with its 95% CI and the units it
    rests on. An undefined coefficient (nan) is an empty cell."""
    for s in samples:
        comparisons = [("coders", s.figures.coders)]
        if s.figures.machine is not None:
            comparisons.append(("engine vs resolved codes", s.figures.machine))
        for comparison, f in comparisons:
            lines = [(ALL_CODES, f.kappa, f.alpha, f.agreement)]
            lines += [(_label(c.code, s.labels), c.kappa, c.alpha, None) for c in f.per_code]
            for code, kappa, alpha, agreement in lines:
                for name, estimate in (("Cohen's kappa", kappa), ("Krippendorff's alpha (nominal)", alpha),
                                       ("percent agreement (0-1)", agreement)):
                    if estimate is None:
                        continue
                    yield [s.sample, s.kind, s.item, s.size, s.seed, ", ".join(s.coders), comparison,
                           code, name, _number(estimate.value), _number(estimate.ci_low),
                           _number(estimate.ci_high), estimate.n_units]


def about_pairs(samples: Sequence[SampleFigures]) -> list[tuple[str, str]]:
    """The About sheet's line on double coding (none without a finished sample)."""
    if not samples:
        return []

    def said(estimate: Estimate | None, name: str) -> str:
        if estimate is None or estimate.value != estimate.value:
            return f"{name} not defined"
        interval = (f" [{estimate.ci_low:.2f}, {estimate.ci_high:.2f}]"
                    if estimate.ci_low == estimate.ci_low else "")
        return f"{name} {estimate.value:.2f}{interval}"

    parts = []
    for s in samples:
        f = s.figures.coders
        text = (f"sample {s.sample} ({s.kind} {s.item}, {s.size} texts, seed {s.seed}, "
                f"{len(s.coders)} coders): " + ", ".join(
                    x for x in (said(f.kappa, "kappa") if f.kappa else "", said(f.alpha, "alpha")) if x))
        if s.figures.machine is not None:
            text += "; the engine against the resolved codes: " + said(s.figures.machine.kappa, "kappa")
        parts.append(text)
    return [("reliability", "Double coding, with 95% bootstrap intervals (Reliability sheet): "
             + "; ".join(parts) + ".")]
