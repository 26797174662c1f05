"""Server-drawn SVG plots for the dashboard: well-formed XML, no script, no ``style=``.

Every plot is built as an ElementTree (so text and attributes are escaped by the serialiser, and
names typed by users can never break the markup) and uses presentation attributes (``fill=``,
``stroke=``) only, which the Content-Security-Policy allows. Characters XML 1.0 forbids (control
characters a user might paste) are dropped before they reach the tree. Plots are drawn on a
360-unit-wide canvas, so on a 390 px phone one unit is about one pixel and 14-unit text is
legible; wider screens scale them up. Colour is never the only cue: numbers are written on the
cells and bars, and highlighted rows say why in words.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 360
FONT = "system-ui, 'PingFang SC', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"
INK = "#1a1a1a"
MUTED = "#4a4a4a"
BRAND = "#0b3d91"
ALERT = "#a4161a"
LINE = "#c9d1dc"
#: Heat map shades, lightest first; dark shades carry white text.
SHADES = ("#f3f5f8", "#c6d5ee", "#8eabdc", "#4f78c2", "#0b3d91")

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text) -> str:
    """Text safe to put in XML 1.0 (the serialiser escapes <, & and quotes)."""
    return _INVALID_XML.sub("", str(text))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


class Canvas:
    """A thin builder over an ElementTree ``<svg>`` element."""

    def __init__(self, height: float, title: str, desc: str = "", width: float = WIDTH):
        self.root = ET.Element("svg", {
            "xmlns": SVG_NS, "viewBox": f"0 0 {_fmt(width)} {_fmt(height)}", "width": _fmt(width),
            "height": _fmt(height), "role": "img", "font-family": FONT, "font-size": "14", "fill": INK,
        })
        self.title = ET.SubElement(self.root, "title")
        self.title.text = clean(title)
        if desc:
            ET.SubElement(self.root, "desc").text = clean(desc)

    def add(self, tag: str, parent: ET.Element | None = None, text=None, **attrs) -> ET.Element:
        attributes = {key.rstrip("_").replace("_", "-"): _fmt(value) for key, value in attrs.items()
                      if value is not None}
        element = ET.SubElement(self.root if parent is None else parent, tag, attributes)
        if text is not None:
            element.text = clean(text)
        return element

    def rect(self, x, y, w, h, fill, **attrs) -> ET.Element:
        return self.add("rect", x=x, y=y, width=max(w, 0), height=max(h, 0), fill=fill, **attrs)

    def text(self, x, y, text, **attrs) -> ET.Element:
        return self.add("text", x=x, y=y, text=text, **attrs)

    def to_string(self) -> str:
        return ET.tostring(self.root, encoding="unicode")

    def markup(self) -> Markup:
        """For inline use in a page (the string is already escaped XML)."""
        return Markup(self.to_string())


def _truncate(text: str, limit: int) -> str:
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- heat map: check-ins by hour of day (rows) and weekday (columns) ---------------------------

def heatmap(grid: list[list[int]], day_labels: list[str], title: str, hour_label: str = "") -> Canvas:
    """``grid[hour][weekday]`` counts; 24 rows of 7 cells with the count written in each."""
    left, top, cell_w, cell_h = 44, 28, 44, 24
    height = top + 24 * cell_h + 4
    canvas = Canvas(height, title)
    peak = max((value for row in grid for value in row), default=0)
    for day, label in enumerate(day_labels):
        canvas.text(left + day * cell_w + cell_w / 2, 18, label, text_anchor="middle", font_weight="700")
    if hour_label:
        canvas.text(2, 18, hour_label, fill=MUTED, font_size=12)
    for hour in range(24):
        y = top + hour * cell_h
        canvas.text(left - 6, y + cell_h / 2 + 5, f"{hour:02d}", text_anchor="end", fill=MUTED, font_size=14)
        for day in range(7):
            value = grid[hour][day]
            level = 0 if not value or not peak else 1 + min(3, (value * 4 - 1) // peak)
            x = left + day * cell_w
            canvas.rect(x + 1, y + 1, cell_w - 2, cell_h - 2, SHADES[level], stroke=LINE, stroke_width=0.5)
            if value:
                canvas.text(x + cell_w / 2, y + cell_h / 2 + 5, value, text_anchor="middle", font_size=15,
                            fill="#ffffff" if level >= 3 else INK)
    return canvas


# -- coverage by checkpoint --------------------------------------------------------------------

@dataclass
class CoverageRow:
    name: str
    scans: int  # scans in the window (e.g. the last 7 days)
    last_scan: str  # already formatted, or "" for never
    stale: bool  # not visited in the last 24 hours


def coverage(rows: list[CoverageRow], title: str, stale_word: str, never_word: str, last_word: str) -> Canvas:
    """One block per checkpoint: name, a bar of recent scans with the count, and the last scan;
    a checkpoint not visited in 24 hours gets a red frame, a hatched bar and ``stale_word`` on a
    line of its own."""
    row_h, stale_extra, top = 74, 22, 4
    height = top + sum(row_h + (stale_extra if row.stale else 0) for row in rows) + (0 if rows else 40) + 4
    canvas = Canvas(height, title)
    defs = canvas.add("defs")
    pattern = canvas.add("pattern", defs, id="hatch-stale", width=8, height=8, patternUnits="userSpaceOnUse",
                         patternTransform="rotate(45)")
    canvas.add("rect", pattern, width=8, height=8, fill="#fdecea")
    canvas.add("line", pattern, x1=0, y1=0, x2=0, y2=8, stroke=ALERT, stroke_width=3)
    peak = max((row.scans for row in rows), default=0) or 1
    bar_max = WIDTH - 64
    y = top
    for row in rows:
        block = row_h + (stale_extra if row.stale else 0)
        if row.stale:
            canvas.rect(1, y, WIDTH - 2, block - 6, "#fff8f7", stroke=ALERT, stroke_width=2, rx=6)
        canvas.text(8, y + 20, _truncate(row.name, 20), font_weight="700", font_size=16)
        width = bar_max * row.scans / peak
        canvas.rect(8, y + 28, max(width, 2), 14, "url(#hatch-stale)" if row.stale else BRAND,
                    stroke=ALERT if row.stale else BRAND, stroke_width=1)
        canvas.text(min(8 + width + 6, WIDTH - 48), y + 41, row.scans, font_weight="700", font_size=15)
        canvas.text(8, y + 62, f"{last_word} {row.last_scan or never_word}", fill=MUTED, font_size=14)
        if row.stale:
            canvas.text(8, y + 84, "⚠ " + stale_word, fill=ALERT, font_weight="700", font_size=15)
        y += block
    if not rows:
        canvas.text(8, 30, never_word, fill=MUTED)
    return canvas


# -- points flow by week -----------------------------------------------------------------------

def points_flow(weeks: list[tuple[str, int, int]], title: str, issued_word: str, redeemed_word: str) -> Canvas:
    """Per week two horizontal bars: points issued (solid) and redeemed (hatched), numbers written."""
    top, row_h, left = 34, 52, 58
    height = top + max(len(weeks), 1) * row_h + 4
    canvas = Canvas(height, title)
    defs = canvas.add("defs")
    pattern = canvas.add("pattern", defs, id="hatch-redeemed", width=6, height=6, patternUnits="userSpaceOnUse",
                         patternTransform="rotate(45)")
    canvas.add("rect", pattern, width=6, height=6, fill="#ffffff")
    canvas.add("line", pattern, x1=0, y1=0, x2=0, y2=6, stroke="#7a4b00", stroke_width=3)
    # legend, in words as well as fills
    canvas.rect(8, 8, 16, 12, BRAND)
    canvas.text(30, 19, issued_word, font_size=15)
    canvas.rect(150, 8, 16, 12, "url(#hatch-redeemed)", stroke="#7a4b00")
    canvas.text(172, 19, redeemed_word, font_size=15)
    peak = max((max(issued, redeemed) for _label, issued, redeemed in weeks), default=0) or 1
    bar_max = WIDTH - left - 60
    for index, (label, issued, redeemed) in enumerate(weeks):
        y = top + index * row_h
        canvas.text(left - 6, y + 27, label, text_anchor="end", fill=MUTED, font_size=14)
        issued_w = bar_max * issued / peak
        redeemed_w = bar_max * redeemed / peak
        canvas.rect(left, y + 4, max(issued_w, 1), 16, BRAND)
        canvas.text(left + issued_w + 4, y + 18, issued, font_size=15, font_weight="700")
        canvas.rect(left, y + 24, max(redeemed_w, 1), 16, "url(#hatch-redeemed)", stroke="#7a4b00")
        canvas.text(left + redeemed_w + 4, y + 38, redeemed, font_size=15, font_weight="700")
        canvas.add("line", x1=left, y1=y + row_h - 3, x2=WIDTH - 4, y2=y + row_h - 3, stroke=LINE)
    return canvas
