"""The SVG charts: well-formed, escaped, and saying in words and in a table what they draw."""
import re
import xml.etree.ElementTree as ET

import pytest

from surveyapp.domain.charts import Bar, bar_chart, column_chart, grouped_bar_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '"><img src=x onerror=alert(1)>'


def parsed(chart):
    return ET.fromstring(chart.svg)


def all_text(root):
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def make(kind, bars, **kw):
    if kind == "grouped":
        return grouped_bar_chart("T", [("Group", bars)], series=[b.label for b in bars], **kw)
    return {"bar": bar_chart, "column": column_chart}[kind]("T", bars, **kw)


@pytest.mark.parametrize("kind", ["bar", "grouped", "column"])
def test_well_formed_with_a_text_alternative(kind):
    chart = make(kind, [Bar("Yes", 12), Bar("No", 3)])
    root = parsed(chart)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "T"
    assert root.find(f"{SVG}desc").text == chart.description
    assert "Yes: 12" in chart.description and "No: 3" in chart.description


@pytest.mark.parametrize("kind", ["bar", "grouped", "column"])
def test_hostile_labels_are_text(kind):
    chart = make(kind, [Bar(HOSTILE, 4), Bar("ok", 2)])
    assert "<img" not in chart.svg
    root = parsed(chart)  # would raise if the label had opened a tag
    assert [e for e in root.iter() if e.tag.endswith("img")] == []
    assert HOSTILE in chart.description
    assert chart.rows[0][0 if kind != "grouped" else 1] == HOSTILE
    if kind != "column":  # column labels are cut to 12 characters
        assert any(HOSTILE in t for t in all_text(root))


def test_bar_chart_table_equals_the_data():
    chart = bar_chart("Q", [Bar("A", 5), Bar("B", 7)], headers=("Choice", "Count"))
    assert chart.headers == ("Choice", "Count")
    assert chart.rows == (("A", "5"), ("B", "7"))
    widths = [float(r.get("width")) for r in parsed(chart).iter(f"{SVG}rect")]
    assert widths[1] == max(widths) and widths[0] == pytest.approx(widths[1] * 5 / 7, rel=0.01)


def test_suppressed_bar_is_a_marker_not_a_bar():
    chart = bar_chart("Q", [Bar("A", None, suppressed=True), Bar("B", 9)],
                      suppressed="suppressed", suppressed_cell="suppressed (fewer than 5)")
    root = parsed(chart)
    assert len(list(root.iter(f"{SVG}rect"))) == 1
    assert "suppressed" in all_text(root)
    assert chart.rows[0] == ("A", "suppressed (fewer than 5)")
    assert "A: suppressed (fewer than 5)" in chart.description


def test_grouped_rows_carry_ci_and_suppression():
    chart = grouped_bar_chart(
        "Trust", [("North", [Bar("baseline", 40.0, low=30.0, high=50.0), Bar("follow-up", None, suppressed=True)])],
        series=["baseline", "follow-up"], suppressed_cell="suppressed (fewer than 5)", language="fr")
    # Scores keep their decimal (40,0 beside 40,8), in the reader's locale.
    assert chart.rows == (("North", "baseline", "40,0", "[30,0, 50,0]"),
                          ("North", "follow-up", "suppressed (fewer than 5)", ""))
    root = parsed(chart)
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "whisker"]) == 1
    # the legend's two squares and the one bar drawn
    assert len(list(root.iter(f"{SVG}rect"))) == 3


def test_numbers_in_the_readers_locale():
    chart = grouped_bar_chart("T", [("S", [Bar("w", 42.25)])], series=["w"], language="fr")
    assert chart.rows[0][2] == "42,2" or chart.rows[0][2] == "42,3"


def test_rtl_mirrors_the_bars():
    ltr = parsed(bar_chart("T", [Bar("A", 10)]))
    rtl = parsed(bar_chart("T", [Bar("A", 10)], rtl=True))
    assert rtl.get("direction") == "rtl"
    a, b = next(ltr.iter(f"{SVG}rect")), next(rtl.iter(f"{SVG}rect"))
    assert float(a.get("x")) == pytest.approx(8)
    assert float(b.get("x")) + float(b.get("width")) == pytest.approx(640 - 8)


def test_column_chart_order_and_rtl():
    bars = [Bar("2026-01-01", 1), Bar("2026-01-02", 3)]
    xs = [float(r.get("x")) for r in parsed(column_chart("T", bars)).iter(f"{SVG}rect")]
    rxs = [float(r.get("x")) for r in parsed(column_chart("T", bars, rtl=True)).iter(f"{SVG}rect")]
    assert xs[0] < xs[1] and rxs[0] > rxs[1]


def test_empty_chart_is_still_well_formed():
    for chart in (bar_chart("T", []), column_chart("T", []), grouped_bar_chart("T", [], series=[])):
        assert parsed(chart).find(f"{SVG}desc").text == "T."


def test_a_ci_that_rounds_to_zero_never_reads_minus_zero():
    chart = grouped_bar_chart("Trust", [("North", [Bar("baseline", 0.04, low=-0.04, high=0.12)])],
                              series=["baseline"])
    assert chart.rows[0][2:] == ("0.0", "[0.0, 0.1]")
    shown = all_text(parsed(chart)) + [chart.description]
    assert not any(re.search(r"[-\u2212]0(?!\d)", text) for text in shown), shown


def test_ranges_keep_low_before_high_in_right_to_left_text():
    bars = [Bar("baseline", 45.8, low=40.2, high=51.0)]
    rtl = grouped_bar_chart("T", [("G", bars)], series=["baseline"], language="ar", rtl=True)
    ltr = grouped_bar_chart("T", [("G", bars)], series=["baseline"], language="en")
    # An isolate (LRI ... PDI) keeps "[40.2, 51.0]" in order inside Arabic text.
    assert rtl.rows[0][3] == "\u2066[40.2, 51.0]\u2069"
    assert ltr.rows[0][3] == "[40.2, 51.0]"
