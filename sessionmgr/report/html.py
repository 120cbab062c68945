"""The self-contained HTML page of a report, with its plots drawn as SVG."""

from __future__ import annotations

import html
import json
from typing import Any, Final

from sessionmgr.report.text import render_text

__all__ = ["render_html"]

# One colour per category, the same in every plot.
COLOURS: Final = {
    "bad_mac": "#d62728",
    "session_mismatch": "#ff7f0e",
    "no_session": "#9467bd",
    "prekey": "#1f77b4",
    "duplicate": "#7f7f7f",
    "future": "#8c564b",
    "identity": "#e377c2",
    "decrypt_failed": "#bcbd22",
}
ACTION_MARKS: Final = {
    "regeneration_succeeded": ("#2ca02c", "regenerated"),
    "regeneration_failed": ("#d62728", "regeneration failed"),
    "corrupted": ("#000000", "corrupted"),
    "cleaned": ("#17becf", "cleaned"),
}


# --- HTML ------------------------------------------------------------------------------

_W, _PAD = 960, 48


def _x(t: float, span: float) -> float:
    return _PAD + (_W - 2 * _PAD) * (t / span if span else 0)


def _axis(span: float, y: float) -> str:
    hours = span / 3600
    step = 1 if hours <= 12 else 2 if hours <= 24 else 6
    marks = []
    h = 0.0
    while h <= hours + 1e-9:
        x = _x(h * 3600, span)
        marks.append(
            f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#999"/>'
            f'<text x="{x:.1f}" y="{y + 16}" font-size="10" text-anchor="middle">{h:g} h</text>'
        )
        h += step
    return "".join(marks)


def _errors_svg(report: dict[str, Any], span: float) -> str:
    tl = report["timeline"]
    bucket = tl["bucket_s"] * 10  # ten-minute buckets read better over a day
    height = 220
    series: dict[str, dict[int, int]] = {}
    for cat, points in tl["errors"].items():
        agg: dict[int, int] = {}
        for minute, n in points:
            key = int(minute * tl["bucket_s"] // bucket)
            agg[key] = agg.get(key, 0) + n
        series[cat] = agg
    peak = max((n for s in series.values() for n in s.values()), default=1)
    parts = [f'<svg viewBox="0 0 {_W} {height + 30}" role="img" aria-label="errors per ten minutes by category">']
    parts.append(f'<line x1="{_PAD}" y1="{height}" x2="{_W - _PAD}" y2="{height}" stroke="#999"/>')
    parts.append(f'<text x="4" y="14" font-size="11">{peak}</text><text x="4" y="{height}" font-size="11">0</text>')
    legend_x = _PAD
    for cat, agg in series.items():
        colour = COLOURS.get(cat, "#333")
        nbuckets = int(span // bucket) + 1
        pts = " ".join(
            f"{_x(k * bucket, span):.1f},{height - (height - 20) * agg.get(k, 0) / peak:.1f}" for k in range(nbuckets)
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        parts.append(
            f'<rect x="{legend_x}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="13" font-size="11">{html.escape(cat)}</text>'
        )
        legend_x += 30 + 7 * len(cat)
    parts.append(_axis(span, height))
    parts.append("</svg>")
    return "".join(parts)


def _sessions_svg(report: dict[str, Any], span: float) -> str:
    tl = report["timeline"]
    names = list(report["sessions"])
    row = 16
    height = row * len(names) + 10
    parts = [f'<svg viewBox="0 0 {_W} {height + 30}" role="img" aria-label="session health and actions over time">']
    index = {name: i for i, name in enumerate(names)}
    for name, i in index.items():
        y = 5 + i * row
        parts.append(f'<text x="2" y="{y + 11}" font-size="10">{html.escape(name)}</text>')
        parts.append(f'<rect x="{_PAD}" y="{y + 2}" width="{_W - 2 * _PAD}" height="{row - 4}" fill="#e8f5e9"/>')
        for key, colour, label in (("unhealthy", "#f4a261", "unhealthy"), ("down", "#444", "corrupted/disconnected")):
            for start, end in tl[key].get(name, []):
                x0, x1 = _x(start, span), _x(span if end is None else end, span)
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(1.0, x1 - x0):.1f}" height="{row - 4}" '
                    f'fill="{colour}"><title>{label} {start:.0f}–{"end" if end is None else f"{end:.0f}"} s'
                    f"</title></rect>"
                )
    for t, kind, session in tl["actions"]:
        if session not in index or kind not in ACTION_MARKS:
            continue
        colour, label = ACTION_MARKS[kind]
        cy = 5 + index[session] * row + row / 2
        parts.append(
            f'<circle cx="{_x(t, span):.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}" stroke="#fff">'
            f"<title>{label} at {t:.0f} s</title></circle>"
        )
    parts.append(_axis(span, height))
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any], *, compare: dict[str, Any] | None = None) -> str:
    """One self-contained page: the summary, errors over time, each session's health and the actions taken."""
    span = max(float(report["period"]["seconds"] or 0), 1.0)
    summary = html.escape(render_text(report, compare=compare))
    legend = " ".join(
        f'<span><svg width="10" height="10"><circle cx="5" cy="5" r="4" fill="{c}"/></svg> {html.escape(label)}</span>'
        for c, label in ACTION_MARKS.values()
    )
    alerts_rows = (
        "".join(
            f"<tr><td>{html.escape(a['rule'])}</td><td>{html.escape(a['session'])}</td><td>{a['fired_at']}</td>"
            f"<td>{a['resolved_at'] or 'still firing'}</td></tr>"
            for a in report["alerts"]
        )
        or '<tr><td colspan="4">none</td></tr>'
    )
    data = html.escape(json.dumps({k: v for k, v in report.items() if k != "timeline"}, indent=1))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sessionmgr report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
svg {{ width: 100%; height: auto; font-family: system-ui, sans-serif; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd; padding: 2px 10px; text-align: left; }}
.legend span {{ margin-right: 1.5em; font-size: 12px; }}
</style></head><body>
<h1>sessionmgr report</h1>
<pre>{summary}</pre>
<h2>Errors per ten minutes, by category</h2>
{_errors_svg(report, span)}
<h2>Session health and the manager's actions</h2>
<p class="legend"><span style="background:#e8f5e9">&nbsp;healthy&nbsp;</span>
<span style="background:#f4a261">&nbsp;unhealthy&nbsp;</span>
<span style="background:#444;color:#fff">&nbsp;corrupted / disconnected&nbsp;</span> {legend}</p>
{_sessions_svg(report, span)}
<h2>Alerts</h2>
<table><tr><th>rule</th><th>session</th><th>fired</th><th>resolved</th></tr>{alerts_rows}</table>
<details><summary>Report data (JSON)</summary><pre>{data}</pre></details>
</body></html>
"""
