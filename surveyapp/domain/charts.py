"""Server-rendered SVG charts: plain Python, no JavaScript, no chart library.

The API is three functions and two data types:

- ``Bar(label, value, suppressed=False, low=None, high=None)``: one bar (or column).
  A suppressed bar carries no number and is drawn as a marker, never as a bar.
  ``low``/``high`` draw a confidence-interval whisker.
- ``bar_chart(title, bars, ...)``: horizontal bars, one per row with its label above
  it (long labels fit a phone; the rows read the same in RTL).
- ``grouped_bar_chart(title, groups, series=..., ...)``: ``groups`` is a sequence of
  ``(group label, bars)``, one bar per series in each group (site x wave domain
  scores), with CI whiskers and a legend.
- ``column_chart(title, bars, ...)``: vertical columns along a time axis
  (responses per day or week).

Each returns a ``Chart``: ``svg`` (markup to insert as is: every piece of text in it
is XML-escaped here, since labels are answers and site names typed by people),
``title``, ``description`` (a sentence giving every value: the text alternative,
also inside the SVG's ``<title>``/``<desc>`` with ``role="img"``), ``headers`` and
``rows`` (the data table the chart was drawn from, as display strings; a
suppressed value reads ``suppressed_cell``, e.g. "suppressed (fewer than 5)").

The caller translates: ``suppressed`` (the marker word on the chart),
``suppressed_cell`` (the table's wording), ``headers``; numbers are formatted
for ``language``. ``rtl=True`` mirrors the geometry (bars grow from the right,
time runs right to left); text anchors are ``start``/``end`` under the SVG's own
``direction``, so nothing depends on physical CSS.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from xml.sax.saxutils import escape as _xml_escape

from surveyapp.domain.labels import format_fixed, format_number, format_range

WIDTH = 640
LABEL_CHARS = 60  # longer labels are shortened on the chart; the table keeps them whole


@dataclass(frozen=True)
class Bar:
    """One value. ``value`` None and ``suppressed`` False means "no data" (nothing drawn)."""
    label: str
    value: float | None
    suppressed: bool = False
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Chart:
    """A drawn chart: SVG markup (already escaped), its text alternative and its data table."""
    svg: str
    title: str
    description: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def __html__(self) -> str:  # Jinja inserts the (escaped-here) markup as it is
        return self.svg


def escape(text: object) -> str:
    """XML text and attribute escaping (quotes too): a label can never open a tag."""
    return _xml_escape(str(text), {'"': "&quot;", "'": "&#x27;"})


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _number(value: float | None, language: str, digits: int) -> str:
    """Counts as whole numbers; scores with exactly ``digits`` decimals (45.0 beside 45.8)."""
    if value is None:
        return ""
    if digits:
        return format_fixed(value, language, digits)
    return format_number(round(value) + 0, language)


def _value_text(bar: Bar, language: str, digits: int, suppressed_cell: str) -> str:
    if bar.suppressed:
        return suppressed_cell
    return _number(bar.value, language, digits) if bar.value is not None else "–"


def _ci_text(bar: Bar, language: str, digits: int, rtl: bool = False) -> str:
    if bar.suppressed or bar.low is None or bar.high is None:
        return ""
    return format_range(bar.low, bar.high, language, digits, rtl=rtl)


def _frame(title: str, description: str, height: float, body: list[str], rtl: bool) -> str:
    direction = "rtl" if rtl else "ltr"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" direction="{direction}" '
            f'preserveAspectRatio="xMidYMin meet">'
            f'<title>{escape(title)}</title><desc>{escape(description)}</desc>'
            + "".join(body) + "</svg>")


class _Axis:
    """Maps values to x along the inline axis, mirrored when ``rtl``."""

    def __init__(self, start: float, end: float, maximum: float, rtl: bool):
        self.start, self.end, self.maximum, self.rtl = start, end, maximum or 1.0, rtl

    def x(self, value: float) -> float:
        offset = self.start + (self.end - self.start) * max(0.0, min(value, self.maximum)) / self.maximum
        return WIDTH - offset if self.rtl else offset

    def rect(self, value: float, y: float, height: float, css: str) -> str:
        a, b = self.x(0), self.x(value)
        return (f'<rect class="{css}" x="{min(a, b):.1f}" y="{y:.1f}" '
                f'width="{abs(b - a):.1f}" height="{height:.1f}"/>')

    def whisker(self, low: float, high: float, y: float) -> str:
        a, b = self.x(low), self.x(high)
        return (f'<path class="whisker" d="M{a:.1f} {y - 4:.1f}v8M{a:.1f} {y:.1f}H{b:.1f}'
                f'M{b:.1f} {y - 4:.1f}v8"/>')


def _text(x: float, y: float, text: str, css: str = "", anchor: str = "start") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text{klass} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _describe(title: str, parts: Sequence[str]) -> str:
    return f"{title}: " + "; ".join(parts) + "." if parts else f"{title}."


def _scale_max(values: Sequence[float | None], maximum: float | None) -> float:
    if maximum is not None:
        return float(maximum)
    present = [v for v in values if v is not None]
    return float(max(present)) if present and max(present) > 0 else 1.0


def bar_chart(title: str, bars: Sequence[Bar], *, headers: tuple[str, str] = ("", ""),
              suppressed: str = "suppressed", suppressed_cell: str = "suppressed",
              language: str = "en", digits: int = 0, maximum: float | None = None,
              rtl: bool = False) -> Chart:
    """Horizontal bars, one row per bar: label above, bar and value below.

    ``headers`` names the table's two columns (label, value); ``digits`` is how many
    decimals values show; ``maximum`` fixes the scale (default: the largest value)."""
    axis = _Axis(8, WIDTH - 90, _scale_max([b.value for b in bars if not b.suppressed], maximum), rtl)
    anchor_x = WIDTH - 8 if rtl else 8
    body, rows, parts = [], [], []
    y = 8.0
    for bar in bars:
        value_text = _value_text(bar, language, digits, suppressed_cell)
        rows.append((bar.label, value_text))
        parts.append(f"{bar.label}: {value_text}")
        body.append(_text(anchor_x, y + 14, _short(bar.label), "label"))
        if bar.suppressed:
            body.append(_text(anchor_x, y + 34, suppressed, "suppressed"))
        elif bar.value is not None:
            body.append(axis.rect(bar.value, y + 20, 18, "bar"))
            end = axis.x(bar.value) + (-6 if rtl else 6)
            body.append(_text(end, y + 34, value_text, "value"))
        y += 46
    description = _describe(title, parts)
    return Chart(_frame(title, description, y + 4, body, rtl), title, description,
                 tuple(headers), tuple(rows))


def grouped_bar_chart(title: str, groups: Sequence[tuple[str, Sequence[Bar]]], *,
                      series: Sequence[str], headers: tuple[str, str, str, str] = ("", "", "", ""),
                      suppressed: str = "suppressed", suppressed_cell: str = "suppressed",
                      language: str = "en", digits: int = 1, maximum: float | None = 100,
                      rtl: bool = False) -> Chart:
    """Groups of horizontal bars (a group per site, a bar per wave), each with its CI whisker.

    The i-th bar of a group belongs to ``series[i]`` (its ``label`` is ignored on the
    chart but kept in the table); a legend names the series. ``headers``: group, series,
    value, CI."""
    values = [b.high if b.high is not None else b.value
              for _, bars in groups for b in bars if not b.suppressed]
    axis = _Axis(8, WIDTH - 60, _scale_max(values, maximum), rtl)
    anchor_x = WIDTH - 8 if rtl else 8
    body, rows, parts = [], [], []
    y = 8.0
    legend_x = anchor_x
    for index, name in enumerate(series):
        square = legend_x - 12 if rtl else legend_x
        body.append(f'<rect class="bar series-{index % 6}" x="{square:.1f}" y="{y + 2:.1f}" '
                    f'width="12" height="12"/>')
        body.append(_text(legend_x + (-16 if rtl else 16), y + 13, _short(name), "legend"))
        legend_x += (-1 if rtl else 1) * (28 + 8 * min(len(name), 24))
    y += 26
    for group, bars in groups:
        body.append(_text(anchor_x, y + 14, _short(group), "label"))
        y += 20
        for index, bar in enumerate(bars):
            name = series[index] if index < len(series) else bar.label
            value_text = _value_text(bar, language, digits, suppressed_cell)
            ci_text = _ci_text(bar, language, digits, rtl)
            rows.append((group, name, value_text, ci_text))
            parts.append(f"{group}, {name}: {value_text}" + (f" {ci_text}" if ci_text else ""))
            if bar.suppressed:
                body.append(_text(anchor_x, y + 13, f"{_short(name)}: {suppressed}", "suppressed"))
            elif bar.value is not None:
                body.append(axis.rect(bar.value, y + 2, 14, f"bar series-{index % 6}"))
                if bar.low is not None and bar.high is not None:
                    body.append(axis.whisker(bar.low, bar.high, y + 9))
                tip = max(bar.value, bar.high if bar.high is not None else bar.value)
                body.append(_text(axis.x(tip) + (-6 if rtl else 6), y + 13, value_text, "value"))
            y += 18
        y += 8
    description = _describe(title, parts)
    return Chart(_frame(title, description, y + 4, body, rtl), title, description,
                 tuple(headers), tuple(rows))


def column_chart(title: str, bars: Sequence[Bar], *, headers: tuple[str, str] = ("", ""),
                 suppressed: str = "suppressed", suppressed_cell: str = "suppressed",
                 language: str = "en", digits: int = 0, maximum: float | None = None,
                 rtl: bool = False) -> Chart:
    """Vertical columns in order (time runs with the reading direction), labels under
    them (every k-th when there are many), the largest value on a guide line."""
    height, top, bottom = 240.0, 24.0, 200.0
    scale = _scale_max([b.value for b in bars if not b.suppressed], maximum)
    count = max(len(bars), 1)
    step = (WIDTH - 16) / count
    every = max(1, -(-count * 70 // (WIDTH - 16)))  # a label needs about 70 units
    body = [f'<path class="axis" d="M8 {bottom:.1f}H{WIDTH - 8}"/>',
            _text(WIDTH - 8 if rtl else 8, top - 8, _number(scale, language, digits), "value")]
    rows, parts = [], []
    for index, bar in enumerate(bars):
        value_text = _value_text(bar, language, digits, suppressed_cell)
        rows.append((bar.label, value_text))
        parts.append(f"{bar.label}: {value_text}")
        middle = 8 + step * (index + 0.5)
        if rtl:
            middle = WIDTH - middle
        width = max(step * 0.7, 1.0)
        if bar.suppressed:
            body.append(_text(middle, bottom - 6, "×", "suppressed", "middle"))
        elif bar.value is not None:
            tall = (bottom - top) * max(0.0, min(bar.value, scale)) / scale
            body.append(f'<rect class="bar" x="{middle - width / 2:.1f}" y="{bottom - tall:.1f}" '
                        f'width="{width:.1f}" height="{tall:.1f}"><title>{escape(bar.label)}: '
                        f'{escape(value_text)}</title></rect>')
        if index % every == 0:
            body.append(_text(middle, bottom + 18, _short(bar.label)[:12], "label", "middle"))
    if any(b.suppressed for b in bars):
        body.append(_text(WIDTH - 8 if rtl else 8, bottom + 36, f"× {suppressed}", "suppressed"))
    description = _describe(title, parts)
    return Chart(_frame(title, description, height, body, rtl), title, description,
                 tuple(headers), tuple(rows))
