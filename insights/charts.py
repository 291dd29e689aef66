"""The geometry of the insights charts, drawn as SVG by templates/insights/.

Plain coordinates and class names: the CSP forbids inline style, so colours come from
static/insights.css by class, and light and dark follow the page's own variables.
"""

import math
from dataclasses import dataclass, field

WIDTH = 720
LABEL_WIDTH = 170  # room for an action type's key or a reviewer's name left of a bar
ROW_HEIGHT = 24


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str

    @property
    def css(self):
        return self.series.replace(" ", "-")


@dataclass
class Svg:
    width: int
    height: int
    bars: list = field(default_factory=list)
    labels: list = field(default_factory=list)  # (x, y, text, anchor)
    lines: list = field(default_factory=list)  # (x1, y1, x2, y2, class)
    dots: list = field(default_factory=list)  # (x, y, class, title)


def nice_max(value):
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (n may be negative: 0.05 for shares up
    to 5%), so the axis reads as a round number."""
    if value <= 0:
        return 1
    scale = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * scale >= value * (1 - 1e-9):
            return round(step * scale, 12)
    return round(10 * scale, 12)


def stacked_columns(periods, series, values, *, height=200):
    """One column per period, its segments stacked in `series` order.

    `values[i][j]` is the count of series j in period i; `periods` are short labels.
    """
    left, bottom, top = 44, 22, 8
    plot_w, plot_h = WIDTH - left - 4, height - bottom - top
    top_value = nice_max(max((sum(row) for row in values), default=0))
    svg = Svg(WIDTH, height)
    step = plot_w / max(len(periods), 1)
    gap = min(2, step * 0.2)
    for i, (period, row) in enumerate(zip(periods, values)):
        y = top + plot_h
        for name, count in zip(series, row):
            if not count:
                continue
            h = plot_h * count / top_value
            y -= h
            svg.bars.append(
                Bar(
                    round(left + i * step + gap / 2, 2),
                    round(y, 2),
                    round(step - gap, 2),
                    round(h, 2),
                    name,
                    f"{period}: {count} {name}",
                )
            )
    svg.lines.append((left, top + plot_h, WIDTH - 4, top + plot_h, "axis"))
    svg.lines.append((left, top, WIDTH - 4, top, "grid"))
    svg.labels.append((left - 6, top + 4, f"{top_value:,}", "end"))
    svg.labels.append((left - 6, top + plot_h, "0", "end"))
    for i in sorted({0, len(periods) // 2, len(periods) - 1}) if periods else []:
        anchor = "start" if i == 0 else "end" if i == len(periods) - 1 else "middle"
        x = left + i * step + (0 if anchor == "start" else step if anchor == "end" else step / 2)
        svg.labels.append((round(x, 2), height - 6, periods[i], anchor))
    return svg


def horizontal_stacks(labels, series, values, *, share=False):
    """One bar per label, segments in `series` order; with `share` each bar fills the width."""
    plot_w = WIDTH - LABEL_WIDTH - 60
    totals = [sum(row) for row in values]
    top_value = 1 if share else nice_max(max(totals, default=0))
    svg = Svg(WIDTH, max(len(labels), 1) * ROW_HEIGHT + 4)
    for i, (label, row, total) in enumerate(zip(labels, values, totals)):
        y = 2 + i * ROW_HEIGHT
        x = LABEL_WIDTH
        svg.labels.append((LABEL_WIDTH - 8, y + 15, label, "end"))
        for name, count in zip(series, row):
            if not count:
                continue
            w = plot_w * (count / total if share else count / top_value)
            part = f"{count / total:.0%}" if share else f"{count:,}"
            svg.bars.append(Bar(round(x, 2), y + 3, round(w, 2), ROW_HEIGHT - 6, name, f"{label}: {part} {name}"))
            x += w
        svg.labels.append((round(x + 6, 2), y + 15, f"{total:,}", "start"))
    return svg


def ranges(labels, spans, texts, *, axis=str, targets=None, upper=None, text_width=170):
    """One row per label: a line from low to high with a dot at the middle value.

    `spans[i]` is (low, middle, high), written beside the row as `texts[i]` (in `text_width`
    pixels right of the plot); `targets[i]`, if given, is drawn as a tick on that row; `axis`
    formats the scale's end.
    """
    plot_w = WIDTH - LABEL_WIDTH - text_width
    highest = max([s[2] for s in spans] + list(targets or []), default=0)
    top_value = upper if upper is not None else nice_max(highest)
    svg = Svg(WIDTH, max(len(labels), 1) * ROW_HEIGHT + 24)

    def x_of(value):
        return round(LABEL_WIDTH + plot_w * min(value / top_value, 1), 2)

    for i, (label, (low, middle, high)) in enumerate(zip(labels, spans)):
        y = 2 + i * ROW_HEIGHT + 12
        svg.labels.append((LABEL_WIDTH - 8, y + 4, label, "end"))
        svg.lines.append((LABEL_WIDTH, y, LABEL_WIDTH + plot_w, y, "grid"))
        svg.lines.append((x_of(low), y, x_of(high), y, "span"))
        svg.lines.append((x_of(high), y - 6, x_of(high), y + 6, "span"))
        svg.dots.append((x_of(middle), y, "middle", f"{label}: {texts[i]}"))
        if targets:
            svg.lines.append((x_of(targets[i]), y - 9, x_of(targets[i]), y + 9, "target"))
        svg.labels.append((LABEL_WIDTH + plot_w + 8, y + 4, texts[i], "start"))
    axis_y = svg.height - 6
    svg.labels.append((LABEL_WIDTH, axis_y, axis(0), "start"))
    svg.labels.append((LABEL_WIDTH + plot_w, axis_y, axis(top_value), "end"))
    return svg
