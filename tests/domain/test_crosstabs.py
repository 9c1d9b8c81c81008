"""Theme-by-group counts and small-cell suppression (no app, no database)."""
import pytest

from surveyapp.domain.crosstabs import crosstab


def test_counts_keep_row_order_and_first_seen_columns_and_ignore_unknown_rows():
    table = crosstab([(1, "north"), (2, "south"), (1, "north"), (None, "south"), (9, "east")],
                     rows=[2, 1, None])
    assert table.rows == (2, 1, None) and table.columns == ("north", "south")
    assert table.counts == {2: {"south": 1}, 1: {"north": 2}, None: {"south": 1}}
    assert table.column_totals == {"north": 2, "south": 2}


@pytest.mark.parametrize("count, minimum, shown", [
    (0, 5, 0),        # an empty cell reveals no one
    (1, 5, None), (4, 5, None),
    (5, 5, 5), (3, 1, 3)])
def test_cells_below_the_minimum_are_suppressed(count, minimum, shown):
    table = crosstab([("t", "a")] * count, rows=["t"], min_cell_size=minimum)
    assert table.shown("t", "a") == shown
