"""The same residents at baseline and follow-up: paired change and attrition, per site.

Plain data in, plain data out. Residents who kept a panel code link their baseline and
follow-up responses (``panel_links``: response id, wave, link key); nothing here knows
who they are. From the domain scores of every response and those links:

* ``PanelChange``: per site (then all sites) and domain, the follow-up minus baseline
  change twice — ``paired``, using the linked pairs (``change.estimate_change``: paired
  t when everyone is linked, Derrick et al.'s partially overlapping interval when some
  are, Welch when none is), and ``unpaired``, Welch on the same scores as if no one were
  linked — so a reader sees what the links bought (a narrower interval) and that the
  two agree.
* ``Attrition``: per site and domain, how many baseline respondents came back (linked in
  any later wave), and how their baseline scores compare with those who did not: a
  returner bias flag when the 95% interval of that difference excludes zero, i.e. the
  residents who came back already differed at baseline, so a paired change speaks for
  them, not for everyone who answered the baseline.

Groups of fewer than ``min_cell_size`` respondents on either side give no figures
(``suppressed``), as in the capacity table. These figures are for analysts; a partner
never sees whether a response is linked (docs/data-safety.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from surveyapp.domain.change import ChangeEstimate, estimate_change

ScoreRow = tuple[str, str, str, int, float]      # site, wave, domain, response id, score
LinkRow = tuple[int, str, str]                     # response id, wave, link key


@dataclass(frozen=True)
class PanelChange:
    """A site's (None: all sites) change in one domain; ``paired`` uses the links,
    ``unpaired`` is Welch on the same scores. Both None when ``suppressed``."""
    site: str | None
    domain: str
    baseline: str
    follow_up: str
    paired: ChangeEstimate | None
    unpaired: ChangeEstimate | None
    suppressed: bool = False

    @property
    def narrower(self) -> bool | None:
        """Whether the paired interval is narrower than Welch's (None without both)."""
        a, b = self.paired, self.unpaired
        if not a or not b or None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
            return None
        return (a.ci_high - a.ci_low) < (b.ci_high - b.ci_low)


@dataclass(frozen=True)
class Attrition:
    """Baseline respondents of a site (None: all sites) in one domain who came back.

    ``difference`` is the returners' mean baseline score minus the others' (Welch 95%
    CI); ``flagged`` when that interval excludes zero (returner bias)."""
    site: str | None
    domain: str
    n_baseline: int
    n_returned: int
    returned_mean: float | None
    left_mean: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool = False

    @property
    def share_returned(self) -> float | None:
        return self.n_returned / self.n_baseline if self.n_baseline else None

    @property
    def flagged(self) -> bool:
        return (self.ci_low is not None and self.ci_high is not None
                and (self.ci_low > 0 or self.ci_high < 0))


@dataclass(frozen=True)
class PanelTable:
    """Every change (site by site, then all sites) and every site's attrition."""
    baseline: str | None
    changes: tuple[PanelChange, ...]
    attrition: tuple[Attrition, ...]
    linked: int                 # linked follow-up responses in all

    def change(self, site: str | None, follow_up: str, domain: str) -> PanelChange | None:
        return next((c for c in self.changes if (c.site, c.follow_up, c.domain)
                     == (site, follow_up, domain)), None)


def panel_table(scores: Iterable[ScoreRow], links: Iterable[LinkRow], *, waves: Sequence[str],
                domains: Sequence[str] = (), min_cell_size: int = 5) -> PanelTable:
    """Paired and unpaired change, and attrition, from every response's domain scores and
    the panel links. ``waves`` orders the waves (the first present is the baseline)."""
    rows = list(scores)
    key_of = {(response_id, wave): key for response_id, wave, key in links}
    present = {wave for _, wave, _, _, _ in rows}
    order = [w for w in waves if w in present] + sorted(present - set(waves))
    domain_order = list(domains) + sorted({d for _, _, d, _, _ in rows} - set(domains))
    sites = sorted({site for site, _, _, _, _ in rows})
    if not order:
        return PanelTable(None, (), (), 0)
    baseline = order[0]
    groups: dict[tuple, list[tuple[int, float]]] = {}
    for site, wave, domain, response_id, score in rows:
        if score is not None:
            groups.setdefault((site, wave, domain), []).append((response_id, float(score)))
    changes = []
    for follow_up in order[1:]:
        for domain in domain_order:
            for site in (*sites, None):
                if site is None:
                    # Like with like, as the capacity table: the sites measured in both waves.
                    covered = [s for s in sites if (s, baseline, domain) in groups
                               and (s, follow_up, domain) in groups]
                    before = [r for s in covered for r in groups[(s, baseline, domain)]]
                    after = [r for s in covered for r in groups[(s, follow_up, domain)]]
                else:
                    before = groups.get((site, baseline, domain), [])
                    after = groups.get((site, follow_up, domain), [])
                if not before or not after:
                    continue
                changes.append(_change(site, domain, baseline, follow_up, before, after,
                                       key_of, min_cell_size))
    later = {key for (response_id, wave), key in key_of.items() if wave != baseline}
    # All sites means the sites measured again: a site with no follow-up has no one who
    # could come back, and its baseline would read as a difference between returners.
    followed = {site for site, wave, _ in groups if wave != baseline}
    attrition = []
    for domain in domain_order:
        for site in (*sites, None):
            members = ([r for s in sites if s in followed for r in groups.get((s, baseline, domain), [])]
                       if site is None else groups.get((site, baseline, domain), []))
            if members:
                attrition.append(_attrition(site, domain, members, key_of, baseline, later,
                                            min_cell_size))
    linked = sum(1 for (_, wave) in key_of if wave != baseline)
    return PanelTable(baseline, tuple(changes), tuple(attrition), linked)


def _change(site, domain, baseline, follow_up, before, after, key_of, min_cell_size) -> PanelChange:
    if min(len(before), len(after)) < max(min_cell_size, 1):
        return PanelChange(site, domain, baseline, follow_up, None, None, suppressed=True)
    position = {key_of[(rid, baseline)]: i for i, (rid, _) in enumerate(before)
                if (rid, baseline) in key_of}
    pairs = [(position[key_of[(rid, follow_up)]], j) for j, (rid, _) in enumerate(after)
             if (rid, follow_up) in key_of and key_of[(rid, follow_up)] in position]
    a, b = [s for _, s in before], [s for _, s in after]
    return PanelChange(site, domain, baseline, follow_up, estimate_change(a, b, pairs),
                       estimate_change(a, b))


def _attrition(site, domain, members, key_of, baseline, later, min_cell_size) -> Attrition:
    came_back = [s for rid, s in members if key_of.get((rid, baseline)) in later]
    stayed_away = [s for rid, s in members if key_of.get((rid, baseline)) not in later]
    n, k = len(members), len(came_back)
    if n < max(min_cell_size, 1):
        return Attrition(site, domain, n, k, None, None, None, None, None, suppressed=True)
    # Welch between the two groups of baseline scores (independent: different residents).
    estimate = estimate_change(stayed_away, came_back) if came_back and stayed_away else None
    mean = (lambda xs: sum(xs) / len(xs) if xs else None)
    return Attrition(site, domain, n, k, mean(came_back), mean(stayed_away),
                     estimate.difference if estimate else None,
                     estimate.ci_low if estimate else None, estimate.ci_high if estimate else None)
