"""The trend chart on a household page: each target's score month by month as an inline SVG (no script,
no external library), with the same numbers in a table beside it for screen readers."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 56, 36, 16, 44
STYLES = {"homelessness": "app-trend__line", "fuel_poverty": "app-trend__line app-trend__line--second"}


def _ticks(top: float) -> list[float]:
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if top / s <= 5)
    return [round(i * step, 4) for i in range(int(top / step) + 2) if i * step <= top + 1e-9]


def trend_svg(series: dict[str, list[dict]], labels: dict[str, str]) -> Markup:
    """SERIES: {target: [{"as_of", "score"}, ...]}; one line per target over the months any of them has."""
    months = sorted({p["as_of"] for points in series.values() for p in points})
    if not months:
        return Markup("")
    peak = max(p["score"] for points in series.values() for p in points)
    top = max(0.05, min(1.0, peak * 1.15))
    ticks = _ticks(top)
    top = max(top, ticks[-1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month) -> float:
        return LEFT + (plot_w * months.index(month) / (len(months) - 1) if len(months) > 1 else plot_w / 2)

    def y(score: float) -> float:
        return TOP + plot_h * (1 - score / top)

    parts = [f'<svg class="app-trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="trend-title">',
             '<title id="trend-title">Risk scores over recent months (the table below has the same numbers)</title>']
    for tick in ticks:
        parts.append(f'<line class="app-trend__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                     f'<text x="{LEFT - 8}" y="{y(tick) + 5:.1f}" text-anchor="end">{tick:.0%}</text>')
    parts.append(f'<line class="app-trend__axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                 f'y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    every = max(1, len(months) // 6)
    for i, month in enumerate(months):
        if i % every == 0 or i == len(months) - 1:
            parts.append(f'<text x="{x(month):.1f}" y="{HEIGHT - 18}" text-anchor="middle">{month:%b %y}</text>')
    for target, points in series.items():
        if not points:
            continue
        path = " ".join(f"{x(p['as_of']):.1f},{y(p['score']):.1f}" for p in points)
        parts.append(f'<polyline class="{STYLES.get(target, "app-trend__line")}" points="{path}"/>')
        for p in points:
            parts.append(f'<circle cx="{x(p["as_of"]):.1f}" cy="{y(p["score"]):.1f}" r="4" fill="currentColor"/>')
        last = points[-1]
        parts.append(f'<text x="{min(x(last["as_of"]) + 6, WIDTH - RIGHT - 4):.1f}" y="{y(last["score"]) - 8:.1f}" '
                     f'text-anchor="end">{escape(labels[target])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
