"""A bar chart drawn as SVG on the server: no JavaScript and no CDN (the machines are offline)."""

import math
from decimal import Decimal

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
