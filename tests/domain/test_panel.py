"""Paired change and attrition from domain scores and panel links. No app."""
from __future__ import annotations

import random

import pytest

from surveyapp.domain.change import estimate_change
from surveyapp.domain.panel import panel_table

WAVES = ["baseline", "follow-up 1"]


def panel(n=40, linked=40, rho=0.7, shift=6.0, seed=1, site="Hillcrest", start_id=0):
    """Score rows and links of ``n`` residents at ``site``, the first ``linked`` of whom
    kept their code; follow-up = baseline correlated at ``rho`` plus ``shift``."""
    rng = random.Random(seed)
    rows, links = [], []
    for k in range(n):
        common = rng.gauss(0, 1)
        before = 50 + 15 * (rho ** 0.5 * common + (1 - rho) ** 0.5 * rng.gauss(0, 1))
        after = 50 + shift + 15 * (rho ** 0.5 * common + (1 - rho) ** 0.5 * rng.gauss(0, 1))
        b, a = start_id + 2 * k + 1, start_id + 2 * k + 2
        rows += [(site, "baseline", "trust", b, before), (site, "follow-up 1", "trust", a, after)]
        if k < linked:
            links += [(b, "baseline", f"{site}-{k}"), (a, "follow-up 1", f"{site}-{k}")]
    return rows, links


def test_everyone_linked_gives_the_paired_interval_narrower_than_welch():
    rows, links = panel()
    table = panel_table(rows, links, waves=WAVES)
    change = table.change("Hillcrest", "follow-up 1", "trust")
    assert change.paired.method == "paired" and change.paired.n_paired == 40
    assert change.unpaired.method == "welch" and change.unpaired.n_paired == 0
    assert change.paired.difference == pytest.approx(change.unpaired.difference)
    assert change.narrower is True
    before = [r[4] for r in rows if r[1] == "baseline"]
    after = [r[4] for r in rows if r[1] == "follow-up 1"]
    assert change.paired.ci_low == pytest.approx(
        estimate_change(before, after, [(k, k) for k in range(40)]).ci_low)
    assert table.linked == 40


def test_some_linked_is_the_combined_interval_and_none_linked_is_welch():
    rows, links = panel(linked=15)
    some = panel_table(rows, links, waves=WAVES).change("Hillcrest", "follow-up 1", "trust")
    assert some.paired.method == "combined" and some.paired.n_paired == 15
    none = panel_table(rows, [], waves=WAVES).change("Hillcrest", "follow-up 1", "trust")
    assert none.paired.method == "welch"
    assert none.paired.ci_low == pytest.approx(none.unpaired.ci_low)


def test_pairs_never_cross_sites_and_all_sites_pairs_within_the_sites_in_both_waves():
    rows_a, links_a = panel(n=20, site="A", seed=2)
    rows_b, links_b = panel(n=20, site="B", seed=3, start_id=1000)
    # C: a baseline only, with a code that someone in A reused at follow-up (not a pair for C).
    rows_c = [("C", "baseline", "trust", 5000 + k, 50.0 + k) for k in range(8)]
    links_c = [(5000, "baseline", "A-0")]
    table = panel_table(rows_a + rows_b + rows_c, links_a + links_b + links_c, waves=WAVES)
    assert table.change("A", "follow-up 1", "trust").paired.n_paired == 20
    everyone = table.change(None, "follow-up 1", "trust")
    assert everyone.paired.n_before == 40 and everyone.paired.n_paired == 40   # C left out
    assert table.change("C", "follow-up 1", "trust") is None


def test_attrition_flags_returners_who_differed_at_baseline():
    rng = random.Random(5)
    rows, links = [], []
    for k in range(60):
        returned = k < 30
        before = rng.gauss(65 if returned else 45, 8)     # the keen came back
        rows.append(("Hillcrest", "baseline", "trust", k, before))
        links.append((k, "baseline", f"code{k}"))
        if returned:
            rows.append(("Hillcrest", "follow-up 1", "trust", 100 + k, before + 3))
            links.append((100 + k, "follow-up 1", f"code{k}"))
    table = panel_table(rows, links, waves=WAVES)
    site = next(a for a in table.attrition if a.site == "Hillcrest")
    assert (site.n_baseline, site.n_returned, site.share_returned) == (60, 30, 0.5)
    assert site.difference == pytest.approx(site.returned_mean - site.left_mean)
    assert site.flagged and site.difference > 10
    # Every other resident came back, whatever their score: no flag.
    rng = random.Random(6)
    alike = [("X", "baseline", "trust", k, rng.gauss(50, 10)) for k in range(60)]
    alike_links = [(k, "baseline", f"x{k}") for k in range(0, 60, 2)]
    alike_links += [(200 + k, "follow-up 1", f"x{k}") for k in range(0, 60, 2)]
    alike += [("X", "follow-up 1", "trust", 200 + k, 50.0) for k in range(0, 60, 2)]
    x = next(a for a in panel_table(alike, alike_links, waves=WAVES).attrition if a.site == "X")
    assert x.n_returned == 30 and not x.flagged


def test_small_groups_are_suppressed():
    rows, links = panel(n=4)
    table = panel_table(rows, links, waves=WAVES, min_cell_size=5)
    change = table.change("Hillcrest", "follow-up 1", "trust")
    assert change.suppressed and change.paired is None and change.unpaired is None
    assert all(a.suppressed and a.difference is None for a in table.attrition)


def test_the_panel_sheet_rows_carry_both_estimates_and_the_attrition_flag():
    from surveyapp.domain import export
    rows, links = panel(n=30, linked=20)
    table = panel_table(rows, links, waves=WAVES)
    sheet = export.panel_sheet(table, {"trust": "Trust"})
    header = [c.name for c in sheet.columns]
    out = [dict(zip(header, row)) for row in sheet.rows]
    site = next(r for r in out if r["site"] == "Hillcrest")
    change = table.change("Hillcrest", "follow-up 1", "trust")
    assert site["n_paired"] == 20 and site["method"].startswith("partially overlapping")
    assert site["change"] == change.paired.difference and site["ci_low"] == change.paired.ci_low
    assert site["unpaired_ci_low"] == change.unpaired.ci_low
    assert (site["baseline_respondents"], site["returned"]) == (30, 20)
    assert len(site) == len(header)


def test_all_sites_attrition_counts_only_the_sites_measured_again():
    rows, links = panel(n=20, linked=12)
    rows += [("Eastgate", "baseline", "trust", 9000 + k, 90.0) for k in range(20)]  # no follow-up
    table = panel_table(rows, links, waves=WAVES)
    overall = next(a for a in table.attrition if a.site is None)
    hillcrest = next(a for a in table.attrition if a.site == "Hillcrest")
    assert (overall.n_baseline, overall.n_returned) == (20, 12)
    assert overall.difference == pytest.approx(hillcrest.difference)
