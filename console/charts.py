"""A bar chart drawn as SVG on the server: no JavaScript and no CDN (the machines are offline)."""

from decimal import Decimal

from console.selectors import Day

WIDTH, HEIGHT, PAD = 900, 240, 30


def money_chart(days: list[Day]) -> dict:
    """Coordinates for revenue and cost bars per day and the profit line, scaled to the largest figure."""
    # Scaled to the largest figure, however small the business; 1 when there is nothing to draw.
    top = max([*(day.revenue for day in days), *(day.cost for day in days)], default=0) or Decimal(1)
    slot = (WIDTH - 2 * PAD) / max(1, len(days))
    bar = max(1.0, slot / 2 - 1)

    def y(value: Decimal) -> float:
        return round(HEIGHT - PAD - float(value / top) * (HEIGHT - 2 * PAD), 1)

    bars, points = [], []
    for n, day in enumerate(days):
        x = PAD + n * slot
        bars.append(
            {
                "day": day,
                "revenue_x": round(x, 1),
                "cost_x": round(x + bar, 1),
                "revenue_y": y(day.revenue),
                "cost_y": y(day.cost),
                "revenue_h": round(HEIGHT - PAD - y(day.revenue), 1),
                "cost_h": round(HEIGHT - PAD - y(day.cost), 1),
            }
        )
        points.append(f"{round(x + bar, 1)},{y(max(day.profit, Decimal(0)))}")
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bar": round(bar, 1),
        "bars": bars,
        "profit_points": " ".join(points),
        "top": top,
        "axis_y": HEIGHT - PAD,
        "pad": PAD,
    }
