"""The dashboard's folding of grouped rows: periods, rates and suppression."""
import datetime as dt

import pytest

from surveyapp.domain.dashboard import by_period, completion_rate, count_bar

D = dt.date


def test_days_are_continuous_with_zeros():
    periods, weekly = by_period([(D(2026, 3, 1), 2), (D(2026, 3, 4), 5)])
    assert not weekly
    assert periods == [("2026-03-01", 2), ("2026-03-02", 0), ("2026-03-03", 0), ("2026-03-04", 5)]


def test_long_spans_fold_into_iso_weeks():
    periods, weekly = by_period([(D(2026, 1, 1), 1), (D(2026, 1, 4), 2), (D(2026, 3, 10), 4)])
    assert weekly
    assert periods[0] == ("2025-12-29", 3)  # Thursday 1 and Sunday 4 January share a week
    assert periods[-1] == ("2026-03-09", 4) and sum(n for _, n in periods) == 7
    assert by_period([]) == ([], False)


def test_small_counts_are_suppressed_but_zero_is_not():
    assert count_bar("a", 4, 5).suppressed and count_bar("a", 4, 5).value is None
    assert count_bar("a", 5, 5).value == 5 and not count_bar("a", 0, 5).suppressed


def test_rate_hidden_when_it_would_reveal_a_small_count():
    assert completion_rate(12, 8, 5) == 0.6
    assert completion_rate(12, 2, 5) is None and completion_rate(0, 0, 5) is None
    assert completion_rate(12, 0, 5) == 1.0


@pytest.mark.parametrize("counts, hidden", [
    ([12, 8], []),                     # nothing small
    ([12, 3], [0, 1]),                 # one small: the other would give it away
    ([6, 5, 2], [1, 2]),               # the smallest other count goes with it
    ([6, 2, 3], [1, 2]),               # two small: their sum alone is known
    ([9, 0, 2], [0, 2]),               # zeros are shown and never chosen to hide
    ([0, 3], [1]),                     # nothing else to hide: the total shows 3 anyway
    ([0, 0], []),
    ([4, 4, 4], [0, 1, 2]),
])
def test_counts_are_suppressed_together(counts, hidden):
    from surveyapp.domain.dashboard import count_bars, suppressed_counts
    mask = suppressed_counts(counts, 5)
    assert [i for i, hide in enumerate(mask) if hide] == hidden
    bars = count_bars([(str(i), n) for i, n in enumerate(counts)], 5)
    assert [b.value for b in bars] == [None if i in hidden else n for i, n in enumerate(counts)]
    assert all(b.suppressed == (i in hidden) for i, b in enumerate(bars))



def test_known_only_leaves_out_values_the_list_does_not_name():
    from surveyapp.domain.dashboard import choice_counts
    from surveyapp.domain.instruments import Choice, ChoiceList, Question
    question = Question(id="q", type="select_one", page_id="p", label={"en": "Q"},
                        choices=ChoiceList("yn", (Choice("y", {"en": "Yes"}), Choice("n", {"en": "No"}))))
    rows = [("y", 7), ("n", 2), ("my neighbour Zephyrine", 1)]
    assert choice_counts(question, rows, "en", "en", other_label="Other") == [
        ("Yes", 7), ("No", 2), ("my neighbour Zephyrine", 1)]
    assert choice_counts(question, rows, "en", "en", other_label="Other", known_only=True) == [
        ("Yes", 7), ("No", 2)]
