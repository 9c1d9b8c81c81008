"""Capacity-domain scores from answers, and their summaries by site and wave.

Plain data in, plain data out: the web page, the Excel export and the CLI all call
these functions, so every one of them reads the same numbers and suppresses the
same small cells.

A response's score in a domain is the mean of its answered items after reverse
coding (``max + min - x``), rescaled to 0-100. Summaries take rows of
``(site, wave, domain, score)`` (or their pre-aggregated moments, see ``Moments``)
and return dataclasses; ``site`` None stands for all sites together.
"""
from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from surveyapp.domain.statistics import (EffectSize, Reliability, benjamini_hochberg, cronbach_alpha,
                                         hedges_g_of_summaries)
from surveyapp.domain.instruments import Instrument, Question

# The share of a domain's items that must be answered for it to get a score, unless
# the instrument's scoring block sets its own `min_answered`.
DEFAULT_MIN_ANSWERED = 0.5
CONFIDENCE = 0.95


def _t_quantile(df: float) -> float:
    """Student's t quantile for a two-sided CONFIDENCE interval with ``df`` degrees of freedom."""
    # Imported here: scipy.stats costs ~1.5 s of CPU at import, and every gunicorn
    # worker imports this module at boot while only score summaries need it.
    from scipy.stats import t as student_t
    return float(student_t.ppf(0.5 + CONFIDENCE / 2, df))


# ----------------------------------------------------------------------------- one response

def required_share(scoring) -> float:
    """The share of a domain's items that must be answered for a score (0-1)."""
    return scoring.min_answered if scoring.min_answered is not None else DEFAULT_MIN_ANSWERED


@dataclass(frozen=True)
class DomainScore:
    """``score`` 0-100 (None when too few items were answered); ``n_items`` answered."""
    score: float | None
    n_items: int


def score_response(instrument: Instrument, answers: Mapping[str, Any], *,
                   min_answered: float | None = None) -> dict[str, DomainScore]:
    """Every domain of the instrument's scoring block, scored from ``answers``.

    An item counts as answered when its answer is an integer within the scale;
    anything else ("don't know" codes outside the scale, text, nothing) counts as
    unanswered. A domain is scored when at least ``min_answered`` (a share, 0-1) of
    its items are answered: the argument, else the scoring block's ``min_answered``,
    else half. An instrument without scoring has no domains.
    """
    scoring = instrument.scoring
    if scoring is None:
        return {}
    low, high = scoring.scale_min, scoring.scale_max
    share = min_answered if min_answered is not None else required_share(scoring)
    scores = {}
    for domain in scoring.domains:
        values = []
        for item in domain.items:
            value = _scale_value(answers.get(item), low, high)
            if value is not None:
                values.append(high + low - value if item in domain.reverse else value)
        # Compare counts, not floats: 5 items at a half need 3 (2.5 rounded up).
        enough = bool(values) and len(values) >= share * len(domain.items) - 1e-9
        score = ((sum(values) / len(values)) - low) / (high - low) * 100 if enough else None
        scores[domain.id] = DomainScore(score, len(values))
    return scores


def item_values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, dict[str, int | None]]:
    """Each domain's items as scored (reverse items flipped; None when unanswered or
    outside the scale): the rows Cronbach's alpha is computed from."""
    scoring = instrument.scoring
    if scoring is None:
        return {}
    low, high = scoring.scale_min, scoring.scale_max
    out = {}
    for domain in scoring.domains:
        row = {}
        for item in domain.items:
            value = _scale_value(answers.get(item), low, high)
            row[item] = high + low - value if value is not None and item in domain.reverse else value
        out[domain.id] = row
    return out


def domain_reliability(instrument: Instrument, answers: Iterable[Mapping[str, Any]]
                       ) -> dict[str, Reliability]:
    """Cronbach's alpha of each domain's items over ``answers`` (one mapping per
    response, e.g. one wave's), with alpha if each item were deleted. Callers flag an
    alpha under ``ALPHA_FLOOR`` and name ``Reliability.lowering``."""
    rows: dict[str, list] = {}
    for one in answers:
        for domain, values in item_values(instrument, one).items():
            rows.setdefault(domain, []).append(values)
    return {domain: cronbach_alpha(domain_rows) for domain, domain_rows in rows.items()}


# Internal consistency below this is flagged (Nunnally's common rule of thumb).
ALPHA_FLOOR = 0.7


def domain_scores(instrument: Instrument, answers: Mapping[str, Any], *,
                  min_answered: float | None = None) -> dict[str, float | None]:
    """Each domain's 0-100 score (None when too few of its items were answered)."""
    return {domain_id: result.score for domain_id, result in
            score_response(instrument, answers, min_answered=min_answered).items()}


def _scale_value(answer: Any, low: int, high: int) -> int | None:
    # bool is an int in Python: a yes/no answer must not score as 0 or 1.
    if isinstance(answer, bool) or not isinstance(answer, int):
        return None
    return answer if low <= answer <= high else None


# ----------------------------------------------------------------------------- comparable items

def changed_items(before: Instrument, after: Instrument) -> dict[str, tuple[str, ...]]:
    """For each domain of ``before``'s scoring, the items whose wording differs in ``after``.

    An item is unchanged when ``after`` scores it in the same domain, with the same
    direction (reverse or not), and its question label, its matrix item label and its
    choice list (values and labels) read the same in every language both versions
    have. Domains with no changed items map to an empty tuple; a domain ``after`` no
    longer has lists all its items.
    """
    if before.scoring is None:
        return {}
    after_domains = {d.id: d for d in (after.scoring.domains if after.scoring else ())}
    languages = set(before.languages) & set(after.languages)
    result = {}
    for domain in before.scoring.domains:
        other = after_domains.get(domain.id)
        changed = []
        for item in domain.items:
            if other is None or item not in other.items or (
                    (item in domain.reverse) != (item in other.reverse)) or (
                    _wording(before, item, languages) != _wording(after, item, languages)):
                changed.append(item)
        result[domain.id] = tuple(changed)
    return result


def changed_across(befores: Iterable[Instrument], afters: Iterable[Instrument]
                   ) -> dict[str, tuple[str, ...]]:
    """``changed_items`` over every pair of a baseline version and a follow-up version (a
    wave's responses may span versions): an item changed in any pair is changed."""
    afters = list(afters)
    result: dict[str, list[str]] = {}
    for before in befores:
        for after in afters:
            for domain, items in changed_items(before, after).items():
                known = result.setdefault(domain, [])
                known.extend(item for item in items if item not in known)
    return {domain: tuple(items) for domain, items in result.items()}


def _wording(instrument: Instrument, item: str, languages: set[str]) -> tuple | None:
    """What a respondent reads for ``item``, in ``languages``: the text a comparison needs."""
    question_id, _, item_id = item.partition(".")
    question: Question | None = instrument.questions_by_id.get(question_id)
    if question is None:
        return None
    texts = lambda text: tuple((lang, (text or {}).get(lang)) for lang in sorted(languages))  # noqa: E731
    item_label = next((texts(i.label) for i in question.items if i.id == item_id), None)
    choices = tuple((c.value, texts(c.label)) for c in question.choices.choices) \
        if question.choices else ()
    return (texts(question.label), item_label, choices)


# ----------------------------------------------------------------------------- summaries

@dataclass
class Moments:
    """Enough of a group of scores to give its n, mean and SD: add scores, or merge groups.
    ``key_sum``: the sum of the scored responses' record keys, with n the group's cell for
    disclosure control (domain/disclosure.py); merges add it as they add n."""
    n: int = 0
    total: float = 0.0
    total_squares: float = 0.0
    key_sum: int = 0

    def add(self, score: float, key: int = 0) -> None:
        self.n += 1
        self.total += score
        self.total_squares += score * score
        self.key_sum += key

    def merge(self, other: "Moments") -> None:
        self.n += other.n
        self.total += other.total
        self.total_squares += other.total_squares
        self.key_sum += other.key_sum

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        if self.n < 2:
            return None
        # Clamped: rounding can make identical scores' variance a hair below zero.
        return max(0.0, (self.total_squares - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Cell:
    """One site (None: all sites) x wave x domain. Suppressed cells carry no numbers."""
    site: str | None
    wave: str
    domain: str
    n: int | None
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool = False
    # Suppressed though large enough itself: it would give another site's small one away.
    complementary: bool = False


@dataclass(frozen=True)
class Change:
    """A site's (None: all sites) change in a domain from ``baseline`` to ``follow_up``.

    ``difference`` is the follow-up mean minus the baseline mean, with a Welch 95% CI
    (``df`` by Welch-Satterthwaite). ``changed_items`` lists the domain's items whose
    wording differs between the two waves' instrument versions: then the waves measured
    different things and no change is given (``comparable`` False). Suppressed when
    either side is.
    """
    site: str | None
    domain: str
    baseline: str
    follow_up: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    suppressed: bool = False
    comparable: bool = True
    changed_items: tuple[str, ...] = ()
    # The sites the change compares: for all sites (site None), only those with
    # respondents in both waves, so a site measured once cannot move the figure.
    sites: tuple[str, ...] = ()
    baseline_mean: float | None = None      # the baseline of exactly those sites
    # Hedges' g with its CI; the Welch test's two-sided p; its Benjamini-Hochberg q-value
    # across every change the table gives (None where no change is given).
    effect: EffectSize | None = None
    p_value: float | None = None
    q_value: float | None = None


@dataclass(frozen=True)
class CapacityTable:
    """Cells in site, wave, domain order (all sites last); changes of every later wave
    against the first; ``waves`` and ``domains`` as ordered."""
    waves: tuple[str, ...]
    sites: tuple[str, ...]
    domains: tuple[str, ...]
    cells: tuple[Cell, ...]
    changes: tuple[Change, ...]
    min_cell_size: int
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self._index.update({(c.site, c.wave, c.domain): c for c in self.cells})
        self._index.update({("change", c.site, c.follow_up, c.domain): c for c in self.changes})

    def cell(self, site: str | None, wave: str, domain: str) -> Cell | None:
        return self._index.get((site, wave, domain))

    def change(self, site: str | None, follow_up: str, domain: str) -> Change | None:
        return self._index.get(("change", site, follow_up, domain))


def moments_of(rows: Iterable[tuple[str, str, str, float | None]]) -> dict[tuple, Moments]:
    """Fold ``(site, wave, domain, score)`` rows into moments per (site, wave, domain);
    rows without a score are left out."""
    groups: dict[tuple, Moments] = {}
    for site, wave, domain, score in rows:
        if score is not None:
            groups.setdefault((site, wave, domain), Moments()).add(float(score))
    return groups


def summarise_cell(site: str | None, wave: str, domain: str, moments: Moments,
                   min_cell_size: int) -> Cell:
    """n, mean, SD and t-based 95% CI of one group; suppressed below ``min_cell_size``."""
    if moments.n < max(min_cell_size, 1):
        return Cell(site, wave, domain, None, None, None, None, None, suppressed=True)
    mean, variance = moments.mean, moments.variance
    if variance is None:  # a single respondent: a mean, no spread
        return Cell(site, wave, domain, moments.n, mean, None, None, None)
    sd = math.sqrt(variance)
    half = _t_quantile(moments.n - 1) * sd / math.sqrt(moments.n)
    return Cell(site, wave, domain, moments.n, mean, sd, mean - half, mean + half)


def welch(before: Moments, after: Moments) -> tuple[float, float | None, float | None, float | None]:
    """(difference after - before, CI low, CI high, Welch-Satterthwaite df)."""
    difference = after.mean - before.mean
    if before.variance is None or after.variance is None:
        return difference, None, None, None
    a, b = before.variance / before.n, after.variance / after.n
    if a + b == 0:  # everyone answered alike on both sides: no uncertainty to speak of
        return difference, difference, difference, None
    df = (a + b) ** 2 / (a * a / (before.n - 1) + b * b / (after.n - 1))
    half = _t_quantile(df) * math.sqrt(a + b)
    return difference, difference - half, difference + half, df


def capacity_table(groups: Mapping[tuple, Moments] | Iterable[tuple], *, waves: Sequence[str],
                   domains: Sequence[str] = (), min_cell_size: int = 5,
                   changed: Mapping[tuple, Mapping[str, Sequence[str]]] | None = None
                   ) -> CapacityTable:
    """The site x wave x domain table with all-sites rows and baseline-to-follow-up changes.

    ``groups`` is ``moments_of(rows)`` (or the rows themselves). Waves are ordered by
    ``waves`` (the project's list; the first is the baseline), waves not in it after,
    by name; domains by ``domains``, then by name. ``changed`` maps (site, follow-up wave) (site None: all
    sites) to ``changed_items``-style ``{domain: items}`` between the versions of that
    site's baseline and follow-up: a domain with changed items gets no change figure. A cell or
    change on fewer than ``min_cell_size`` respondents is suppressed; so is the smallest other
    site's cell when only one site's is (see ``_suppress_complements``), and any change with a
    suppressed cell.
    """
    if not isinstance(groups, Mapping):
        groups = moments_of(groups)
    overall: dict[tuple, Moments] = {}
    for (site, wave, domain), moments in groups.items():
        overall.setdefault((None, wave, domain), Moments()).merge(moments)
    everything = {**groups, **overall}
    present_waves = {wave for _, wave, _ in groups}
    wave_order = tuple(w for w in waves if w in present_waves) + tuple(
        sorted(present_waves - set(waves)))
    domain_order = tuple(d for d in domains if any(key[2] == d for key in groups)) + tuple(
        sorted({key[2] for key in groups} - set(domains)))
    sites = tuple(sorted({site for site, _, _ in groups}))
    cells: dict[tuple, Cell] = {}
    for site in (*sites, None):
        for wave in wave_order:
            for domain in domain_order:
                moments = everything.get((site, wave, domain))
                if moments is not None:
                    cells[(site, wave, domain)] = summarise_cell(site, wave, domain, moments,
                                                                 min_cell_size)
    _suppress_complements(cells, sites, wave_order, domain_order)
    changes = []
    for site in (*sites, None):
        if not wave_order:
            continue
        baseline = wave_order[0]
        for follow_up in wave_order[1:]:
            for domain in domain_order:
                if site is None:
                    # Like with like: all sites means the sites measured in both waves.
                    covered = tuple(s for s in sites if (s, baseline, domain) in groups
                                    and (s, follow_up, domain) in groups)
                    before = _merged(groups, covered, baseline, domain)
                    after = _merged(groups, covered, follow_up, domain)
                else:
                    covered = (site,)
                    before = everything.get((site, baseline, domain))
                    after = everything.get((site, follow_up, domain))
                if before is None or after is None:
                    continue
                differing = tuple((changed or {}).get((site, follow_up), {}).get(domain, ()))
                hidden = (cells[(site, baseline, domain)].suppressed
                          or cells[(site, follow_up, domain)].suppressed)
                if site is None:
                    # The all-sites cells hold every site, the change only the covered
                    # ones: the difference between the two is the left-out sites, so it
                    # must not single out a left-out site whose own cell is suppressed.
                    hidden = hidden or any(
                        cells[(s, w, domain)].suppressed for s in sites if s not in covered
                        for w in (baseline, follow_up) if (s, w, domain) in cells)
                changes.append(_change(site, domain, baseline, follow_up, before, after,
                                       min_cell_size, differing, hidden=hidden,
                                       covered=covered))
    cells = list(cells.values())
    q_values = benjamini_hochberg([change.p_value for change in changes])
    changes = [dataclasses.replace(change, q_value=q) if q is not None else change
               for change, q in zip(changes, q_values)]
    return CapacityTable(wave_order, sites, domain_order, tuple(cells), tuple(changes),
                         min_cell_size)


def _merged(groups: Mapping[tuple, Moments], sites: Sequence[str], wave: str,
            domain: str) -> Moments | None:
    """The moments of ``sites`` together in one wave and domain; None when none has any."""
    parts = [groups[(site, wave, domain)] for site in sites if (site, wave, domain) in groups]
    if not parts:
        return None
    merged = Moments()
    for part in parts:
        merged.merge(part)
    return merged


def _suppress_complements(cells: dict[tuple, Cell], sites: Sequence[str], waves: Sequence[str],
                          domains: Sequence[str]) -> None:
    """Where one site's cell of a wave and domain is suppressed and the others are not,
    suppress the smallest other site's too: the all-sites cell holds every site, so its
    n and mean less the shown sites' would give the suppressed one's back."""
    for wave in waves:
        for domain in domains:
            present = [cells[key] for key in ((site, wave, domain) for site in sites) if key in cells]
            hidden = [cell for cell in present if cell.suppressed]
            shown = [cell for cell in present if not cell.suppressed]
            if len(hidden) == 1 and shown:
                smallest = min(shown, key=lambda cell: (cell.n, cell.site))
                cells[(smallest.site, wave, domain)] = Cell(
                    smallest.site, wave, domain, None, None, None, None, None, suppressed=True,
                    complementary=True)


def _change(site, domain, baseline, follow_up, before: Moments, after: Moments,
            min_cell_size: int, differing: tuple[str, ...], *, hidden: bool = False,
            covered: tuple[str, ...] = ()) -> Change:
    """``hidden``: a cell of either wave is suppressed (so its change would give it away);
    ``covered``: the sites compared."""
    empty = dict(difference=None, ci_low=None, ci_high=None, df=None, sites=covered)
    if hidden or min(before.n, after.n) < max(min_cell_size, 1):
        return Change(site, domain, baseline, follow_up, **empty, suppressed=True,
                      comparable=not differing, changed_items=differing)
    if differing:
        # The stored scores cover every item of their version; a change over items that
        # were worded differently would measure the rewording, so none is given.
        return Change(site, domain, baseline, follow_up, **empty, comparable=False,
                      changed_items=differing)
    difference, low, high, df = welch(before, after)
    effect = hedges_g_of_summaries(before.n, before.mean, before.variance,
                                   after.n, after.mean, after.variance)
    return Change(site, domain, baseline, follow_up, difference, low, high, df,
                  sites=covered, baseline_mean=before.mean, effect=effect,
                  p_value=welch_p(before, after))


def welch_p(before: Moments, after: Moments) -> float | None:
    """The two-sided p-value of Welch's t-test of equal means (None without spread)."""
    if before.variance is None or after.variance is None:
        return None
    a, b = before.variance / before.n, after.variance / after.n
    if a + b == 0:
        return None
    df = (a + b) ** 2 / (a * a / (before.n - 1) + b * b / (after.n - 1))
    from scipy.stats import t as student_t      # lazily, as in _t_quantile
    return float(min(1.0, 2 * student_t.sf(abs(after.mean - before.mean) / math.sqrt(a + b), df)))
