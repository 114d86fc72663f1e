"""A bar chart drawn as SVG on the server: no JavaScript and no CDN (the machines are offline)."""

import math
from decimal import Decimal

from django.utils.formats import date_format, localize
from django.utils.html import format_html, format_html_join

from console.selectors import Day

WIDTH, HEIGHT, PAD = 900, 240, 30
DATE_LABELS = 6  # about this many dates under the bars, whatever the period


def money_chart(days: list[Day]) -> dict:
    """Coordinates for revenue and cost bars per day and the profit line, scaled to the largest figure and
    reaching below zero on days at a loss."""
    # However small the business, the largest figure fills the chart; 1 when there is nothing to draw.
    top = max([*(day.revenue for day in days), *(day.cost for day in days)], default=0) or Decimal(1)
    bottom = min([*(day.profit for day in days), Decimal(0)])
    slot = (WIDTH - 2 * PAD) / max(1, len(days))
    bar = max(1.0, slot / 2 - 1)

    def y(value: Decimal) -> float:
        return round(PAD + float((top - value) / (top - bottom)) * (HEIGHT - 2 * PAD), 1)

    zero = y(Decimal(0))
    label_every = max(1, math.ceil(len(days) / DATE_LABELS))
    bars, points = [], []
    for n, day in enumerate(days):
        x = PAD + n * slot
        bars.append(
            {
                "day": day,
                "labelled": n % label_every == 0 or n == len(days) - 1,
                "revenue_x": round(x, 1),
                "cost_x": round(x + bar, 1),
                "revenue_y": y(day.revenue),
                "cost_y": y(day.cost),
                "revenue_h": round(zero - y(day.revenue), 1),
                "cost_h": round(zero - y(day.cost), 1),
            }
        )
        points.append(f"{round(x + bar, 1)},{y(day.profit)}")
    return {
        "svg_bars": _svg_bars(bars, bar=round(bar, 1)),
        "width": WIDTH,
        "height": HEIGHT,
        "bar": round(bar, 1),
        "bars": bars,
        "profit_points": " ".join(points),
        "top": top,
        "bottom": bottom,
        "bottom_y": HEIGHT - PAD,
        "axis_y": zero,
        "pad": PAD,
    }


# A day's two bars and its date: drawn here once per day, not by the template (its filters localised each of
# the ~400 numbers of a 30-day chart: a fifth of the dashboard's time). Coordinates are written as SVG reads
# them, whatever the language; the figures and dates as the template wrote them.
_BAR = (
    '<rect x="{}" y="{}" width="{}" height="{}" fill="#417690"><title>{}: revenue {}</title></rect>'
    '<rect x="{}" y="{}" width="{}" height="{}" fill="#c5c5c5"><title>{}: cost {}, profit {}</title></rect>'
)
_LABEL = '<text x="{}" y="{}" font-size="10" fill="#666">{}</text>'


def _svg_bars(bars: list[dict], *, bar: float) -> str:
    def drawn(entry: dict) -> str:
        day = entry["day"]
        label = date_format(day.day, "M j")
        shapes = format_html(
            _BAR,
            entry["revenue_x"],
            entry["revenue_y"],
            bar,
            entry["revenue_h"],
            label,
            localize(day.revenue),
            entry["cost_x"],
            entry["cost_y"],
            bar,
            entry["cost_h"],
            label,
            localize(day.cost),
            localize(day.profit),
        )
        if entry["labelled"]:
            shapes += format_html(_LABEL, entry["revenue_x"], HEIGHT, label)
        return shapes

    return format_html_join("\n", "{}", ((drawn(entry),) for entry in bars))
