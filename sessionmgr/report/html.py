"""The self-contained HTML page of a report: what happened and what to do, in the first two screens.

Top to bottom: the headline and key numbers, what to do now, errors over time,
the per-session swimlane, then the panels a report has (with vs without the
manager, message outcomes, input files, what-if), the alerts, and the data.
No script, no fetch: the page is one file that opens anywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from sessionmgr.report.advice import advise
from sessionmgr.report.charts import ACTION_MARKS, COLOURS, SPAN_COLOURS, errors_chart, legend, swimlane
from sessionmgr.report.compare import comparison
from sessionmgr.report.humanize import Clock, human_duration, percent, plural
from sessionmgr.report.panels import delivery_panel, input_panel, outcomes_panel, what_if_panel
from sessionmgr.report.svg import esc
from sessionmgr.report.text import headline

__all__ = ["render_html"]

_STYLE: Final = """
:root { --ink:#1d2329; --muted:#5b6670; --line:#d9dee3; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; padding: 16px 20px 40px;
       max-width: 1100px; color: var(--ink); }
h1 { font-size: 20px; margin: 0 0 2px; } h2 { font-size: 16px; margin: 22px 0 6px; }
.sub { color: var(--muted); margin: 0 0 10px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 130px; flex: 1 1 130px; }
.tile b { display: block; font-size: 20px; } .tile span { color: var(--muted); font-size: 12px; }
.todo { border-left: 4px solid #e6a100; background: #fff8e6; padding: 6px 12px; margin: 8px 0; }
.todo ol { margin: 4px 0; padding-left: 20px; } .todo li { margin: 2px 0; }
.lvl { font-size: 11px; font-weight: 600; text-transform: uppercase; border-radius: 3px; padding: 0 4px;
       margin-right: 6px; }
.lvl-now { background: #d62728; color: #fff; } .lvl-check { background: #e6a100; color: #000; }
.lvl-watch { background: #dfe6ec; color: #333; }
.why { color: var(--muted); }
svg.chart { display: block; width: 100%; height: auto; font-family: system-ui, sans-serif; }
svg.chart .grid { stroke: #eceff2; } svg.chart .axis { stroke: #888; }
svg.chart .tick { font-size: 12px; fill: #5b6670; } svg.chart .name { font-size: 13px; fill: #1d2329; }
ul.legend { list-style: none; padding: 0; margin: 4px 0 6px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
ul.legend li { display: inline-flex; align-items: center; gap: 5px; font-size: 12px; }
.sw { display: inline-block; width: 11px; height: 11px; flex: none; }
.sw-circle { border-radius: 50%; } .sw-diamond { transform: rotate(45deg) scale(0.85); }
.sw-triangle { clip-path: polygon(50% 0, 100% 100%, 0 100%); }
.sw-cross { clip-path: polygon(20% 0, 50% 30%, 80% 0, 100% 20%, 70% 50%, 100% 80%, 80% 100%, 50% 70%, 20% 100%,
            0 80%, 30% 50%, 0 20%); }
table { border-collapse: collapse; width: 100%; table-layout: auto; }
td, th { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { font-weight: 600; font-size: 12px; color: var(--muted); } .num { text-align: right; }
td.num { white-space: nowrap; }
.hbar { display: flex; align-items: center; gap: 10px; margin: 4px 0; }
.hname { width: 170px; flex: none; } .hval { flex: 0 1 340px; color: var(--muted); }
.htrack { flex: 1 1 auto; background: #f1f3f5; height: 16px; min-width: 0; }
.hfill { display: block; height: 100%; min-width: 2px; }
.stack { display: flex; height: 18px; background: #f1f3f5; margin: 6px 0; }
.seg { display: block; height: 100%; }
.cellbar { position: relative; padding-bottom: 8px; }
.cbw { position: absolute; left: 10px; right: 10px; bottom: 3px; height: 4px; background: #eef2f6; }
.cb { display: block; height: 100%; background: #6b9ac4; }
.cellbar .v { position: relative; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f7f8; padding: 10px; font-size: 12px; }
code { overflow-wrap: anywhere; }
"""


def _tiles(report: dict[str, Any]) -> str:
    tiles: list[tuple[str, str]] = []
    delivery = report.get("delivery")
    if delivery:
        without = (report.get("comparison") or {}).get("without_manager")
        note = f"without the manager {percent(without['delivered_ratio'])}" if without else "of messages sent"
        tiles.append((percent(delivery["delivered_ratio"]) + " delivered", note))
    section = report.get("input") or {}
    if "lines" in section:
        tiles.append(
            (
                f"{section['lines']:,} lines read",
                f"{section.get('events', 0):,} events · {section.get('ignored', 0):,} ignored · "
                f"{section.get('rejected_count', 0):,} rejected",
            )
        )
    errors = report["errors"]
    top = max(errors["by_category"].items(), key=lambda kv: kv[1], default=("", 0))
    tiles.append((plural(errors["total"], "crypto error"), f"mostly {top[0]}" if top[1] else "none"))
    statuses: dict[str, int] = {}
    for s in report["sessions"].values():
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    unhealthy = sum(s["unhealthy_transitions"] for s in report["sessions"].values())
    tiles.append(
        (
            plural(len(report["sessions"]), "session"),
            f"{plural(unhealthy, 'unhealthy spell')} · " + ", ".join(f"{n} {k}" for k, n in sorted(statuses.items())),
        )
    )
    firing = sum(1 for a in report["alerts"] if a["resolved_at"] is None)
    tiles.append((plural(len(report["alerts"]), "alert"), f"{firing} still firing"))
    ttr = report["actions"]["time_to_recover_s"]
    if ttr["count"]:
        tiles.append((human_duration(ttr["p50"]) + " to recover", f"median; longest {human_duration(ttr['max'])}"))
    return (
        '<div class="tiles">'
        + "".join(f'<div class="tile"><b>{_keep(v)}</b><span>{_keep(n)}</span></div>' for v, n in tiles)
        + "</div>"
    )


def _keep(text: str) -> str:
    """Escaped, with a number kept on one line with its unit ("81.49 %", "7 min")."""
    return re.sub(r"(\d) (%|s|min|h|d)(?=\W|$)", "\\1&nbsp;\\2", esc(text))


def _todo(report: dict[str, Any]) -> str:
    steps = advise(report)
    if not steps:
        nothing = "nothing. Every session ended healthy and no alert is firing."
        return f'<div class="todo" id="todo"><b>What to do now:</b> {nothing}</div>'
    items = "".join(
        f'<li><span class="lvl lvl-{a.level}">{a.level}</span><b>{esc(a.action)}</b> '
        f'<span class="why">— {esc(a.why)}</span></li>'
        for a in steps
    )
    return f'<div class="todo" id="todo"><b>What to do now</b><ol>{items}</ol></div>'


def _alerts(report: dict[str, Any], clock: Clock) -> str:
    rows = []
    for a in report["alerts"]:
        fired, resolved = clock.offset(a["fired_at"]), clock.offset(a["resolved_at"]) if a["resolved_at"] else None
        lasted = human_duration(resolved - fired) if fired is not None and resolved is not None else "still firing"
        when = clock.label(fired) if fired is not None else a["fired_at"]
        rows.append(
            f"<tr><td>{esc(a['rule'])}</td><td>{esc(a['session'])}</td><td>{esc(when)}</td>"
            f"<td>{esc(lasted)}</td><td>{esc(a['message'])}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="5">none</td></tr>'
    return (
        '<section id="alerts"><h2>Alerts</h2><table><tr><th>rule</th><th>session</th><th>fired</th>'
        f"<th>lasted</th><th>message</th></tr>{body}</table></section>"
    )


def render_html(report: dict[str, Any], *, compare: dict[str, Any] | None = None, policy: str | None = None) -> str:
    """One self-contained page; ``compare`` is the run without the manager (its delivery feeds the comparison
    when the report has none), ``policy`` names the policy the report is from when several were compared."""
    if compare is not None and "comparison" not in report and compare.get("delivery") and report.get("delivery"):
        report = {**report, "comparison": comparison(report["delivery"], compare["delivery"])}
    clock = Clock(report["period"])
    title, sub = headline(report, policy=policy)
    errors_svg, cats, bin_s = errors_chart(report, clock)
    lanes, hidden = swimlane(report, clock)
    hidden_note = f"<p class=sub>{plural(hidden, 'quiet session')} not shown.</p>" if hidden else ""
    marks = [(c, label) for c, _, label in ACTION_MARKS.values()]
    shapes = {label: shape for _, shape, label in ACTION_MARKS.values()}
    spans = [SPAN_COLOURS[k] for k in ("healthy", "unhealthy", "down")]
    data = esc(json.dumps({k: v for k, v in report.items() if k != "timeline"}, indent=1))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{_STYLE}</style></head><body>
<h1>{esc(title)}</h1><p class="sub">{esc(sub)}</p>
{_tiles(report)}
{_todo(report)}
<section id="errors"><h2>Crypto errors per {human_duration(bin_s)}, by category</h2>
{legend([(COLOURS.get(c, "#333"), c) for c in cats]) if cats else '<p class="sub">No crypto errors.</p>'}
{errors_svg}</section>
<section id="timeline"><h2>Each session: health, the manager's decisions, alerts</h2>
{legend([*spans, *marks], shape=shapes)}
{lanes}{hidden_note}</section>
{delivery_panel(report)}
{outcomes_panel(report)}
{input_panel(report)}
{what_if_panel(report)}
{_alerts(report, clock)}
<details><summary>Report data (JSON)</summary><pre>{data}</pre></details>
</body></html>
"""
