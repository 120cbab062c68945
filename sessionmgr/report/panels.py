"""The HTML report's smaller panels: with vs without the manager, message outcomes, input files, what-if.

Each returns an empty string when the report lacks its section, so one page
serves simulations and replays alike.
"""

from __future__ import annotations

from typing import Any, Final

from sessionmgr.report.charts import legend
from sessionmgr.report.compare import WHAT_IF_COLUMNS
from sessionmgr.report.humanize import human_duration, percent, plural
from sessionmgr.report.svg import esc

__all__ = ["OUTCOME_COLOURS", "delivery_panel", "input_panel", "outcomes_panel", "what_if_panel"]

#: Message outcomes, in the order a person reads them (best first).
OUTCOME_COLOURS: Final = {
    "resolved_sender": ("#2ca02c", "resolved by the sender"),
    "resolved_phone": ("#98df8a", "resolved by the phone"),
    "expired": ("#ff9896", "expired"),
    "lost": ("#d62728", "lost"),
}
_LOST: Final = "#d62728"
_BASELINE_NAMES: Final = {
    "ours": "sessionmgr",
    "baileys": "Baileys' own recovery",
    "whatsmeow": "whatsmeow's own recovery",
    "none": "no recovery",
}


def _runs(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every run the report can compare: the baselines when it has them, else this run and the one without."""
    delivery = report.get("delivery")
    if delivery is None:
        return []
    comparison = report.get("comparison") or {}
    baselines = comparison.get("baselines")
    if isinstance(baselines, list) and baselines:
        # one row per recovery (ours, the clients' own defaults, none), as harness.comparison writes them
        return [(_BASELINE_NAMES.get(str(r.get("recovery")), str(r.get("recovery", "?"))), r)
                for r in baselines if isinstance(r, dict) and "lost" in r]  # fmt: skip
    runs: list[tuple[str, dict[str, Any]]] = [("with the manager", delivery)]
    for key, value in comparison.items():
        if isinstance(value, dict) and "lost" in value:
            runs.append((key.replace("_", " "), value))
    return runs


def delivery_panel(report: dict[str, Any]) -> str:
    """Messages lost per run, as bars (the headline: what the manager saved)."""
    runs = _runs(report)
    if not runs:
        return ""
    peak = max(max(r["lost"] for _, r in runs), 1)
    rows = []
    for name, run in runs:
        width = 100 * run["lost"] / peak
        ratio = run.get("delivered_ratio", run["delivered"] / run["sent"] if run.get("sent") else None)
        rows.append(
            f'<div class="hbar"><span class="hname">{esc(name)}</span>'
            f'<span class="htrack"><span class="hfill" style="width:{width:.2f}%;background:{_LOST}"></span></span>'
            f'<span class="hval">{plural(run["lost"], "message")} lost · {percent(ratio)} delivered'
            f"{_resolved(run)}</span></div>"
        )
    saved = (report.get("comparison") or {}).get("messages_saved")
    head = f"<p>The manager saved <b>{plural(saved, 'message')}</b> on the same seed.</p>" if saved is not None else ""
    title = "sessionmgr, the clients' own recovery, none" if len(runs) > 2 else "with and without the manager"
    return f'<section id="delivery"><h2>Messages lost: {esc(title)}</h2>{head}{"".join(rows)}</section>'


def _resolved(run: dict[str, Any]) -> str:
    median = run.get("resolve_p50_s")
    return f" · resolved in {human_duration(median)} (median)" if isinstance(median, int | float) else ""


def outcomes_panel(report: dict[str, Any]) -> str:
    """What became of each undecryptable message: one stacked bar, and a table with how long each waited."""
    messages = report.get("messages")
    if not messages:
        return ""
    outcomes: dict[str, int] = messages["outcomes"]
    total = sum(outcomes.values()) or 1
    segments, keys, rows = [], [], []
    for outcome, n in outcomes.items():
        colour, label = OUTCOME_COLOURS.get(outcome, ("#999999", outcome.replace("_", " ")))
        if n:
            segments.append(
                f'<span class="seg" style="width:{100 * n / total:.3f}%;background:{colour}" '
                f'title="{esc(label)}: {n}"></span>'
            )
        keys.append((colour, label))
        waited = messages.get("waited_s", {}).get(outcome)
        mean = human_duration(waited["mean"]) if waited else "–"
        longest = human_duration(waited["max"]) if waited else "–"
        rows.append(
            f"<tr><td>{esc(label)}</td><td class=num>{n:,}</td><td class=num>{percent(n / total, 1)}</td>"
            f"<td class=num>{mean}</td><td class=num>{longest}</td></tr>"
        )
    return (
        f'<section id="outcomes"><h2>What became of the messages that failed to decrypt</h2>'
        f'<div class="stack">{"".join(segments)}</div>{legend(keys)}'
        "<table><tr><th>outcome</th><th class=num>messages</th><th class=num>share</th>"
        f"<th class=num>waited (mean)</th><th class=num>waited (longest)</th></tr>{''.join(rows)}</table></section>"
    )


def input_panel(report: dict[str, Any]) -> str:
    """The files a replay read, with how many lines became events, were ignored (and why) or rejected."""
    section = report.get("input") or {}
    files = section.get("files")
    if not files:
        return ""
    rows = []
    for f in files:
        ignored = f.get("ignored", {})
        ignored_n = sum(ignored.values()) if isinstance(ignored, dict) else int(ignored)
        reasons = ", ".join(f"{k} {v}" for k, v in ignored.items()) if isinstance(ignored, dict) else ""
        rows.append(
            f"<tr><td class=path>{_wrappable(f.get('file', '?'))}</td><td>{esc(f.get('format', ''))}</td>"
            f"<td class=num>{f.get('lines', 0):,}</td><td class=num>{f.get('events', 0):,}</td>"
            f"<td class=num>{ignored_n:,}</td><td>{esc(reasons)}</td><td class=num>{f.get('rejected', 0):,}</td></tr>"
        )
    rejected = section.get("rejected") or []
    bad = "".join(
        f"<li><code>{esc(r.get('file', ''))}:{esc(r.get('line', ''))}</code> {esc(r.get('reason', ''))}</li>"
        for r in rejected[:20]
        if isinstance(r, dict)
    )
    more = section.get("rejected_count", len(rejected)) - min(len(rejected), 20)
    bad_list = f"<p>Rejected lines:</p><ul>{bad}</ul>" if bad else ""
    if more > 0:
        bad_list += f"<p>… and {plural(more, 'more rejected line')} (see the JSON report).</p>"
    failures = section.get("recorded_backend_failures")
    note = (
        f"<p>{plural(failures, 'backend failure')} recorded in the trace were replayed as failures.</p>"
        if failures
        else ""
    )
    disorder = section.get("out_of_order")
    if disorder:
        note += (
            f"<p>{plural(disorder, 'line')} dated before an earlier line of the same file: "
            "replayed in file order, at the latest time read so far.</p>"
        )
    return (
        '<section id="input"><h2>Input files</h2><table class="files"><tr><th>file</th><th>format</th>'
        "<th class=num>lines</th><th class=num>events</th><th class=num>ignored</th><th>why ignored</th>"
        f"<th class=num>rejected</th></tr>{''.join(rows)}</table>{note}{bad_list}</section>"
    )


def what_if_panel(report: dict[str, Any]) -> str:
    """The what-if rows as a table whose cells carry bars, so the policies compare at a glance."""
    rows = report.get("what_if")
    if not rows:
        return ""
    peaks = {c: max(max(r[c] for r in rows), 1) for c in WHAT_IF_COLUMNS}
    head = "".join(f"<th class=num>{_breakable(c.replace('_', ' '))}</th>" for c in WHAT_IF_COLUMNS)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num cellbar"><span class="cbw"><span class="cb" style="width:{100 * row[c] / peaks[c]:.1f}%">'
            "</span></span>"
            f"<span class=v>{row[c]:,}</span></td>"
            for c in WHAT_IF_COLUMNS
        )
        body.append(f"<tr><td class=path>{_wrappable(row['policy'])}</td>{cells}</tr>")
    return (
        f'<section id="what-if"><h2>What if: the same events under each policy</h2>'
        f'<table class="whatif"><tr><th>policy</th>{head}</tr>{"".join(body)}</table></section>'
    )


def _breakable(title: str) -> str:
    """A column title whose long words may break (with a hyphen) on a narrow screen."""
    return " ".join(
        esc(w) if len(w) < 9 else f"{esc(w[: len(w) // 2])}&shy;{esc(w[len(w) // 2 :])}" for w in title.split()
    )


def _wrappable(text: object) -> str:
    """A path or policy name that may wrap after its separators (/, _, =) rather than mid-word."""
    out = esc(text)
    for sep in ("/", "_", "="):
        out = out.replace(sep, sep + "<wbr>")
    return out
