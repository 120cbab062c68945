"""``sessionmgr simulate``: the default simulation, with the manager and (to compare) without."""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sessionmgr.cli.console import show
from sessionmgr.cli.options import (
    RAW_IDS_OPTION,
    STORE_OPTION,
    close_store,
    load_policy,
    open_out,
    open_store_option,
    write,
)
from sessionmgr.cli.progress import EventCounter, FractionDone, fraction_bar
from sessionmgr.events import Event
from sessionmgr.report.builder import build_report
from sessionmgr.report.compare import comparison
from sessionmgr.report.html import render_html
from sessionmgr.report.text import summary

__all__ = ["simulate"]

#: What the harness extra brings that a simulation run needs.
_HARNESS_EXTRA = ("faker", "freezegun")


@click.command()
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the population, traffic and faults.")
@click.option("--sessions", type=click.IntRange(min=1), default=20, show_default=True, help="Bot connections.")
@click.option("--peers", type=click.IntRange(min=1), default=50, show_default=True, help="Peers per session.")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=24.0,
    show_default=True,
    help="Virtual hours to simulate.",
)
@click.option(
    "--message-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=1800.0,
    show_default=True,
    help="Mean seconds between two messages from one peer.",
)
@click.option(
    "--fault-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply every random fault rate of the default mix (0 turns the rain off).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file with the manager's policy (SESSIONMGR_* variables apply on top).",
)
@click.option("--no-manager", is_flag=True, help="Run the same world without the manager (as --baseline none).")
@click.option(
    "--baseline",
    type=click.Choice(["ours", "baileys", "whatsmeow", "none", "all"]),
    default="ours",
    show_default=True,
    help="Who recovers: our manager, Baileys' or whatsmeow's defaults, nobody; 'all' compares the four.",
)
@click.option(
    "--compare/--no-compare",
    default=True,
    show_default=True,
    help="Also run the same seed under the other recoveries and print the four rows side by side.",
)
@click.option("--json", "json_out", metavar="PATH", help="Write the JSON report here ('-' for stdout).")
@click.option("--html", "html_out", metavar="PATH", help="Write a self-contained HTML report here.")
@click.option(
    "--trace",
    "trace_out",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record the run as a canonical trace (replayable with 'sessionmgr replay').",
)
@STORE_OPTION
@RAW_IDS_OPTION
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def simulate(
    seed: int,
    sessions: int,
    peers: int,
    hours: float,
    message_interval: float,
    fault_scale: float,
    policy_path: Path | None,
    no_manager: bool,
    baseline: str,
    compare: bool,
    json_out: str | None,
    html_out: str | None,
    trace_out: Path | None,
    store_url: str | None,
    raw_ids: bool,
    quiet: bool,
) -> None:
    """Simulate bots whose Signal sessions break, with the manager recovering them.

    Runs on virtual time: a day of traffic takes seconds. Prints a summary;
    --json and --html write the full report.
    """
    try:
        from harness.comparison import comparison_row, run_comparison
        from harness.simulate import SimConfig, run_simulation_result

        # the harness imports these only once a run starts (population, frozen wall clock): ask now
        for module in _HARNESS_EXTRA:
            importlib.import_module(module)
    except ImportError as exc:  # the harness extra is missing
        raise click.ClickException(
            f"the simulation needs the harness extra ({exc.name} is missing): pip install 'sessionmgr[harness]'"
        ) from None
    config = SimConfig(
        seed=seed,
        sessions=sessions,
        peers_per_session=peers,
        hours=hours,
        message_interval=message_interval,
        fault_scale=fault_scale,
        policy=load_policy(policy_path),
        manager=not no_manager,
        baseline="ours" if baseline == "all" else baseline,
        raw_ids=raw_ids,
    )
    visible = not quiet and json_out != "-"
    store = open_store_option(store_url)
    subscribers: list[Callable[[Event], None]] = []
    with contextlib.ExitStack() as stack:
        if trace_out is not None:
            from sessionmgr.trace.codec import TraceWriter

            handle = stack.enter_context(open_out(trace_out, "trace"))
            subscribers.append(TraceWriter(handle, config.pseudonymizer(), source={"source": config.source()}))
        try:
            counter = EventCounter()
            with fraction_bar("simulating" if visible else None, counter) as progress:
                if progress is not None:
                    subscribers.append(counter)
                result = run_simulation_result(config, progress=progress, store=store, subscribers=tuple(subscribers))
        finally:
            close_store(store)
    if trace_out is not None:
        click.echo(f"trace written to {trace_out}", err=True)
    without: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = []
    report = result.report
    if (compare or baseline == "all") and config.recovery != "none":

        def bar(recovery: str) -> contextlib.AbstractContextManager[FractionDone | None]:
            return fraction_bar(f"same seed, {recovery}" if visible else None)

        runs = run_comparison(config, progress=bar, done={config.recovery: result})
        rows = [comparison_row(run) for run in runs.values()]
        without = runs["none"].report
        assert result.parts.delivery is not None  # a simulation always accounts for its messages
        section = comparison(result.parts.delivery, without["delivery"]) | {"baselines": rows}
        report = build_report(result.parts, comparison=section)
    if json_out:
        write(json_out, json.dumps(report, indent=2), "JSON report")
    if html_out:
        write(html_out, render_html(report, compare=without), "HTML report")
    if not quiet:
        show(summary(report, compare=without), err=json_out == "-")
        if rows:
            click.echo("\n" + baseline_table(rows), err=json_out == "-")  # a blank line after "what to do now"


#: The comparison table's columns: (row key, header).
_BASELINE_COLUMNS = (("recovery", "recovery"), ("delivered", "delivered"), ("lost", "lost"),
                     ("resolve_p50_s", "p50 s"), ("resolve_p90_s", "p90 s"), ("resets", "resets"),
                     ("regenerations", "regens"), ("resends", "resends"), ("phone_requests", "phone asks"),
                     ("delivered_by_phone", "by phone"))  # fmt: skip


def baseline_table(rows: list[dict[str, Any]]) -> str:
    """The four recoveries side by side, one line each (the same seed and world)."""
    cells = [[h for _, h in _BASELINE_COLUMNS]]
    cells += [["-" if row[k] is None else str(row[k]) for k, _ in _BASELINE_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_BASELINE_COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
             for line in cells]  # fmt: skip
    title = "Same seed, four recoveries (p50/p90: send to delivery of the messages that failed to decrypt):"
    return "\n".join([title, *lines])
