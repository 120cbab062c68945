"""The two time plots of the HTML report: errors by category over time, and the per-session swimlane.

Both share one time axis in wall-clock time; every mark carries a tooltip
with its exact time. Legends are HTML lists next to the plot (their swatches
are plain boxes, so no page-wide SVG rule can stretch them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from sessionmgr.report.humanize import Clock, human_duration
from sessionmgr.report.svg import esc, nice_ceiling, time_step, time_ticks

__all__ = ["ACTION_MARKS", "COLOURS", "SPAN_COLOURS", "errors_chart", "legend", "swimlane"]

#: One colour per category, the same in every plot (colour-blind-safe where it matters: red vs blue).
COLOURS: Final = {
    "bad_mac": "#d62728",
    "session_mismatch": "#ff7f0e",
    "no_session": "#9467bd",
    "prekey": "#1f77b4",
    "duplicate": "#7f7f7f",
    "future": "#8c564b",
    "identity": "#e377c2",
    "unavailable": "#17becf",
    "decrypt_failed": "#bcbd22",
}
#: Marks on the swimlane: event kind -> (colour, shape, label).
ACTION_MARKS: Final = {
    "regeneration_succeeded": ("#2ca02c", "circle", "keys regenerated"),
    "regeneration_failed": ("#d62728", "cross", "regeneration failed"),
    "corrupted": ("#111111", "square", "marked corrupted"),
    "cleaned": ("#17becf", "diamond", "keys purged (cleaned)"),
    "alert": ("#e6a100", "triangle", "alert fired"),
}
#: Spans on the swimlane: key in the report's timeline -> (colour, label).
SPAN_COLOURS: Final = {
    "healthy": ("#dff0e0", "healthy"),
    "unhealthy": ("#f4a261", "unhealthy"),
    "down": ("#555555", "corrupted / disconnected"),
}

W: Final = 1000  # viewBox width of every plot
LEFT: Final = 96  # room for the y labels (session names)
RIGHT: Final = 16
_MARK: Final = 9.0  # marker size
_ROW: Final = 24
# Centres of two marks on one row are at least this far apart (the widest shape with its outline, and air).
_GAP: Final = _MARK + 4.0
_MAX_ROWS: Final = 60


@dataclass(frozen=True, slots=True)
class _Axis:
    span: float

    def x(self, t: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * (min(max(t, 0.0), self.span) / self.span if self.span else 0.0)


def legend(entries: list[tuple[str, str]], *, shape: dict[str, str] | None = None) -> str:
    """An HTML legend: each label right beside a swatch of its own colour."""
    items = []
    for colour, label in entries:
        kind = (shape or {}).get(label, "box")
        items.append(
            f'<li class="key" data-colour="{colour}"><span class="sw sw-{kind}" style="background:{colour}"></span>'
            f'<span class="label">{esc(label)}</span></li>'
        )
    return f'<ul class="legend">{"".join(items)}</ul>'


def _x_axis(axis: _Axis, clock: Clock, top: float, bottom: float) -> str:
    parts = []
    for t, label in time_ticks(clock, axis.span):
        x = axis.x(t)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="grid"/>'
            f'<text x="{x:.1f}" y="{bottom + 14}" class="tick" text-anchor="{_anchor(x)}">{esc(label)}</text>'
        )
    return "".join(parts)


def _anchor(x: float) -> str:
    """Tick labels near an edge are aligned inward, so none is cut off."""
    return "start" if x < LEFT + 20 else "end" if x > W - RIGHT - 20 else "middle"


def errors_chart(report: dict[str, Any], clock: Clock) -> tuple[str, list[str], int]:
    """Stacked bars of crypto errors per time bin, by category; the SVG, the categories drawn and the bin (s)."""
    tl = report["timeline"]
    axis = _Axis(max(clock.span, 1.0))
    bin_s = max(time_step(axis.span, 150), tl["bucket_s"])
    bins: dict[int, dict[str, int]] = defaultdict(dict)
    for cat, points in tl["errors"].items():
        for bucket, n in points:
            key = int(bucket * tl["bucket_s"] // bin_s)
            bins[key][cat] = bins[key].get(cat, 0) + n
    cats = [c for c in COLOURS if any(c in b for b in bins.values())]
    cats += sorted({c for b in bins.values() for c in b} - set(cats))
    height, top = 180, 8
    most = max((sum(b.values()) for b in bins.values()), default=0)
    step = nice_ceiling(most / 4)  # four gridlines at round counts
    peak = step * max(1, math.ceil(most / step))
    scale = (height - top) / peak
    parts = [
        f'<svg class="chart" id="errors-chart" viewBox="0 0 {W} {height + 24}" role="img" '
        f'aria-label="crypto errors per {human_duration(bin_s)}, by category">'
    ]
    value = 0.0
    while value <= peak + 1e-9:
        y = height - value * scale
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{value:,.0f}</text>'
        )
        value += step
    parts.append(_x_axis(axis, clock, top, height))
    width = max(1.0, axis.x(bin_s) - axis.x(0) - 1)
    for key in sorted(bins):
        start = key * bin_s
        x, y = axis.x(start), float(height)
        total = sum(bins[key].values())
        for cat in cats:
            n = bins[key].get(cat, 0)
            if not n:
                continue
            h = n * scale
            y -= h
            tip = f"{clock.label(start)}–{clock.label(start + bin_s)}: {cat} {n} (all categories {total})"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS.get(cat, "#333")}" data-cat="{esc(cat)}"><title>{esc(tip)}</title></rect>'
            )
    parts.append(f'<line x1="{LEFT}" y1="{height}" x2="{W - RIGHT}" y2="{height}" class="axis"/></svg>')
    return "".join(parts), cats, bin_s


def swimlane(report: dict[str, Any], clock: Clock) -> tuple[str, int]:
    """One row per session: health spans and the manager's decisions and alerts as marks; the SVG and rows hidden."""
    tl = report["timeline"]
    axis = _Axis(max(clock.span, 1.0))
    marks: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for t, kind, session in tl["actions"]:
        if kind in ACTION_MARKS:
            marks[session].append((t, kind, ACTION_MARKS[kind][2]))
    for alert in report["alerts"]:
        offset = clock.offset(alert["fired_at"])
        if offset is not None and alert["session"] in report["sessions"]:
            marks[alert["session"]].append((offset, "alert", f"alert {alert['rule']}: {alert['message']}"))
    names = list(report["sessions"])
    busy = [n for n in names if marks.get(n) or tl["unhealthy"].get(n) or tl["down"].get(n)]
    # with many sessions, the ones where something happened come first; quiet ones fill the rest
    keep = set(busy[:_MAX_ROWS]) | set([n for n in names if n not in set(busy)][: max(0, _MAX_ROWS - len(busy))])
    shown = [n for n in names if n in keep]
    height = _ROW * len(shown) + 4
    parts = [
        f'<svg class="chart" id="swimlane" viewBox="0 0 {W} {height + 24}" role="img" '
        "aria-label=\"each session's health, the manager's decisions and the alerts over time\">"
    ]
    parts.append(_x_axis(axis, clock, 0, height))
    for i, name in enumerate(shown):
        y = 2 + i * _ROW
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + _ROW / 2 + 4:.1f}" class="name" text-anchor="end">{esc(name)}</text>'
        )
        parts.append(
            f'<rect x="{LEFT}" y="{y + 3}" width="{W - LEFT - RIGHT}" height="{_ROW - 6}" '
            f'fill="{SPAN_COLOURS["healthy"][0]}"/>'
        )
        for key in ("unhealthy", "down"):
            colour, label = SPAN_COLOURS[key]
            for start, end in tl[key].get(name, []):
                stop = axis.span if end is None else end
                x0, x1 = axis.x(start), axis.x(stop)
                until = "the end" if end is None else clock.label(end)
                tip = f"{name} {label} {clock.label(start)}–{until} ({human_duration(stop - start)})"
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(1.5, x1 - x0):.1f}" height="{_ROW - 6}" '
                    f'fill="{colour}" data-span="{key}"><title>{esc(tip)}</title></rect>'
                )
        parts.extend(_marks(sorted(marks.get(name, [])), axis, clock, name, y + _ROW / 2, i))
    parts.append("</svg>")
    return "".join(parts), len(names) - len(shown)


def _marks(items: list[tuple[float, str, str]], axis: _Axis, clock: Clock, name: str, cy: float, row: int) -> list[str]:
    """Markers on one row, moved apart where they would overlap (their tooltips keep the exact time)."""
    out: list[str] = []
    last = -1e9
    for t, kind, text in items:
        x = max(axis.x(t), last + _GAP)
        last = x
        colour, shape, _ = ACTION_MARKS[kind]
        tip = esc(f"{name}: {text} at {clock.full(t)}")
        out.append(
            f'<g class="mark" data-kind="{kind}" data-row="{row}" data-x="{x:.1f}"><title>{tip}</title>'
            f"{_shape(shape, x, cy, colour)}</g>"
        )
    return out


def _shape(shape: str, x: float, y: float, colour: str) -> str:
    r = _MARK / 2
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}" stroke="#fff"/>'
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{_MARK}" height="{_MARK}" fill="{colour}" stroke="#fff"/>'
    if shape == "diamond":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{colour}" stroke="#fff"/>'
    if shape == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y + r:.1f} {x - r - 1:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" fill="{colour}" stroke="#333" stroke-width="0.6"/>'
    # cross
    return (
        f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{_MARK}" height="{_MARK}" fill="#fff" opacity="0.85"/>'
        f'<path d="M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x + r:.1f},{y - r:.1f}L{x - r:.1f},{y + r:.1f}" '
        f'stroke="{colour}" stroke-width="2.4"/>'
    )
