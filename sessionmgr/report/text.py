"""The terminal summary of a report, laid out with rich: aligned columns, human durations, correct plurals.

:func:`summary` gives the renderable (the CLI prints it in colour on a
terminal); :func:`render_text` the same as plain text.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sessionmgr.report.advice import advise
from sessionmgr.report.compare import WHAT_IF_COLUMNS, comparison
from sessionmgr.report.humanize import Clock, human_duration, percent, plural

__all__ = ["headline", "render_text", "summary", "what_if_table"]

_WIDTH = 110
_LEVEL_STYLE = {"now": "bold white on red", "check": "bold black on yellow", "watch": "dim"}


def headline(report: dict[str, Any], *, policy: str | None = None) -> tuple[str, str]:
    """The title of a report and the line under it (its period, and which policy it is from)."""
    src = report["source"]
    title = f"sessionmgr {src.get('kind', 'run')}"
    if "seed" in src:
        title += (
            f" · seed {src['seed']} · {src.get('sessions')} sessions × {src.get('peers_per_session')} peers"
            f" · {src.get('hours'):g} h virtual"
        )
        if src.get("manager") is False:
            title += " · without the manager"
    files = src.get("files")
    if isinstance(files, list) and files:
        title += " · " + (str(files[0]) if len(files) == 1 else plural(len(files), "file"))
    period = report["period"]
    clock = Clock(period)
    if period.get("from") and clock.origin is not None:
        sub = f"{clock.full(0)} → {clock.label(clock.span)} ({human_duration(clock.span)})"
    else:
        sub = "no events"
    if policy is not None:
        rows = report.get("what_if") or []
        sub += f" · policy {policy}" + (
            f" (the first of {len(rows)}; the what-if table compares them)" if len(rows) > 1 else ""
        )
    return title, sub


def _facts(report: dict[str, Any], compare: dict[str, Any] | None) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for limit in report["source"].get("cannot_judge", []):
        grid.add_row("not judged", f"{limit['rung']}: {limit['why']}")
    errors = report["errors"]
    cats = ", ".join(f"{k} {v:,}" for k, v in sorted(errors["by_category"].items(), key=lambda kv: -kv[1]) if v)
    grid.add_row("errors", f"{errors['total']:,}" + (f"  ({cats})" if cats else ""))
    a = report["actions"]
    grid.add_row(
        "actions",
        " · ".join(
            [
                plural(a["resends"], "resend request"),
                plural(a["peer_resets"], "peer reset"),
                plural(a["retries"], "retry", "retries"),
                plural(a["regenerations"], "regeneration")
                + (f" ({a['regeneration_failures']} failed)" if a["regeneration_failures"] else ""),
                f"{a['corrupted']} corrupted",
                f"{a['cleaned']} cleaned",
            ]
        ),
    )
    ttr = a["time_to_recover_s"]
    if ttr["count"]:
        grid.add_row(
            "recovery",
            f"{plural(ttr['count'], 'unhealthy spell')}, median {human_duration(ttr['p50'])}, "
            f"longest {human_duration(ttr['max'])}",
        )
    statuses: dict[str, int] = {}
    for s in report["sessions"].values():
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    grid.add_row("sessions", ", ".join(f"{n} {k}" for k, n in sorted(statuses.items())) or "none")
    section = report.get("input") or {}
    if "lines" in section:
        grid.add_row(
            "input",
            f"{plural(section['lines'], 'line')} read: {section.get('events', 0):,} events, "
            f"{section.get('ignored', 0):,} ignored, {section.get('rejected_count', 0):,} rejected"
            + (f", {section['out_of_order']:,} out of order" if section.get("out_of_order") else ""),
        )
        files = section.get("files") or []
        for f in files if len(files) > 1 else []:
            ignored = f.get("ignored", {})
            count = sum(ignored.values()) if isinstance(ignored, dict) else int(ignored)
            counts = f"{f.get('events', 0):,} events, {count:,} ignored, {f.get('rejected', 0):,} rejected"
            grid.add_row("", f"{f.get('file')} ({f.get('format')}): {plural(f.get('lines', 0), 'line')}, {counts}")
    d = report.get("delivery")
    if d:
        grid.add_row(
            "delivery",
            f"{d['delivered']:,} of {plural(d['sent'], 'message')} delivered ({percent(d['delivered_ratio'])}), "
            f"{d['lost']:,} lost, {d['recovered']:,} recovered after a failure",
        )
        for reason, n in list(d["lost_by_reason"].items())[:6]:
            grid.add_row("", f"lost {n:>6,}  {reason}")
        cmp = report.get("comparison")
        if cmp is None and compare is not None and compare.get("delivery"):
            cmp = comparison(d, compare["delivery"])
        if cmp is not None and "without_manager" in cmp:
            other = cmp["without_manager"]
            factor = f", {other['lost'] / d['lost']:.1f}× fewer lost" if d["lost"] else ", none lost"
            grid.add_row(
                "vs no manager",
                f"{other['lost']:,} lost ({percent(other['delivered_ratio'])} delivered); "
                f"the manager saved {plural(cmp['messages_saved'], 'message')}{factor}",
            )
    messages = report.get("messages")
    if messages:
        grid.add_row("messages", ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in messages["outcomes"].items()))
    return grid


def _alerts(report: dict[str, Any]) -> RenderableType:
    alerts = report["alerts"]
    if not alerts:
        return Text("alerts: none")
    clock = Clock(report["period"])
    table = Table(title=f"alerts ({len(alerts)})", title_justify="left", box=None, header_style="bold", pad_edge=False)
    for name in ("rule", "session", "fired", "lasted"):
        table.add_column(name, no_wrap=True)
    for a in alerts[:10]:
        fired = clock.offset(a["fired_at"])
        resolved = clock.offset(a["resolved_at"]) if a["resolved_at"] else None
        lasted = human_duration(resolved - fired) if fired is not None and resolved is not None else "still firing"
        table.add_row(a["rule"], a["session"], clock.label(fired) if fired is not None else a["fired_at"], lasted)
    if len(alerts) > 10:
        table.add_row(f"… and {len(alerts) - 10} more (see the JSON report)", "", "", "")
    return table


def _todo(report: dict[str, Any]) -> RenderableType:
    steps = advise(report)
    if not steps:
        return Text("what to do now: nothing; every session ended healthy and no alert is firing")
    table = Table(title="what to do now", title_justify="left", box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column()
    for step in steps:
        table.add_row(Text(f" {step.level} ", style=_LEVEL_STYLE[step.level]), f"{step.action} — {step.why}")
    return table


def summary(report: dict[str, Any], *, compare: dict[str, Any] | None = None, policy: str | None = None) -> Group:
    """The summary as a rich renderable; ``compare`` is the run without the manager, ``policy`` names this report's."""
    title, sub = headline(report, policy=policy)
    parts: list[RenderableType] = [
        Text(title, style="bold"),
        Text(sub, style="dim"),
        Text(""),
        _facts(report, compare),
        Text(""),
        _alerts(report),
        Text(""),
        _todo(report),
    ]
    if report.get("what_if"):
        parts += [Text(""), what_if_table(report["what_if"])]
    return Group(*parts)


def what_if_table(rows: list[dict[str, Any]]) -> Table:
    """The what-if rows as an aligned table, one policy a line."""
    table = Table(
        title="what if: the same events under each policy",
        title_justify="left",
        box=None,
        header_style="bold",
        pad_edge=False,
    )
    table.add_column("policy", no_wrap=True)
    for column in WHAT_IF_COLUMNS:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(row["policy"], *(f"{row[c]:,}" for c in WHAT_IF_COLUMNS))
    return table


def render_text(
    report: dict[str, Any], *, compare: dict[str, Any] | None = None, policy: str | None = None, width: int = _WIDTH
) -> str:
    """The summary as plain text, ``width`` columns wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, highlight=False)
    console.print(summary(report, compare=compare, policy=policy))
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip().splitlines()) + "\n"
