"""The terminal summary of a report."""

from __future__ import annotations

from typing import Any

from sessionmgr.report.compare import WHAT_IF_COLUMNS

__all__ = ["render_text", "what_if_table"]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def render_text(report: dict[str, Any], *, compare: dict[str, Any] | None = None) -> str:
    """A summary a person reads in a terminal; ``compare`` is the same run without the manager."""
    lines: list[str] = []
    src = report["source"]
    title = f"sessionmgr {src.get('kind', 'run')}"
    if "seed" in src:
        title += f" · seed {src['seed']} · {src.get('sessions')} sessions × {src.get('peers_per_session')} peers"
        title += f" · {src.get('hours')} h virtual"
    lines += [title, "=" * len(title)]
    errors = report["errors"]
    cats = ", ".join(f"{k} {v}" for k, v in errors["by_category"].items() if v)
    lines.append(f"errors      {errors['total']:>8}   {cats or '-'}")
    a = report["actions"]
    lines.append(
        f"actions     resends {a['resends']}, peer resets {a['peer_resets']}, retries {a['retries']}, "
        f"regenerations {a['regenerations']} (failed {a['regeneration_failures']}), "
        f"corrupted {a['corrupted']}, cleaned {a['cleaned']}"
    )
    ttr = a["time_to_recover_s"]
    if ttr["count"]:
        lines.append(f"recovery    {ttr['count']} unhealthy spells, median {ttr['p50']} s, longest {ttr['max']} s")
    statuses: dict[str, int] = {}
    for s in report["sessions"].values():
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    lines.append("sessions    " + ", ".join(f"{n} {k}" for k, n in sorted(statuses.items())))
    if report["alerts"]:
        lines.append(f"alerts      {len(report['alerts'])}")
        for alert in report["alerts"][:10]:
            resolved = alert["resolved_at"] or "still firing"
            lines.append(f"  {alert['rule']:<28} {alert['session']:<8} {alert['fired_at']} → {resolved}")
        if len(report["alerts"]) > 10:
            lines.append(f"  … and {len(report['alerts']) - 10} more (see the JSON report)")
    else:
        lines.append("alerts      none")
    d = report.get("delivery")
    if d:
        lines.append(
            f"delivery    {d['delivered']}/{d['sent']} delivered ({_pct(d['delivered_ratio'])}), "
            f"{d['lost']} lost, {d['recovered']} recovered after a failure"
        )
        for reason, n in list(d["lost_by_reason"].items())[:6]:
            lines.append(f"  lost: {n:>6}  {reason}")
        if compare is not None and compare.get("delivery"):
            other = compare["delivery"]
            saved = other["lost"] - d["lost"]
            factor = other["lost"] / d["lost"] if d["lost"] else float("inf")
            lines.append(
                f"vs no manager: {other['lost']} lost ({_pct(other['delivered_ratio'])} delivered); "
                f"the manager saved {saved} messages" + (f", {factor:.1f}× fewer lost" if d["lost"] else ", none lost")
            )
    return "\n".join(lines)


def what_if_table(rows: list[dict[str, Any]]) -> str:
    """The what-if rows as an aligned table, one policy a line."""
    width = max(len(r["policy"]) for r in rows) + 2
    titles = [c.replace("_", " ") for c in WHAT_IF_COLUMNS]
    header = "policy".ljust(width) + "".join(f"  {t}" for t in titles)
    lines = ["", "what if: the same events under each policy", header]
    for row in rows:
        cells = "".join(f"  {row[c]:>{len(t)}}" for c, t in zip(WHAT_IF_COLUMNS, titles, strict=True))
        lines.append(row["policy"].ljust(width) + cells)
    return "\n".join(lines)
