"""The ``sessionmgr`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sessionmgr import __version__
from sessionmgr.classify import classify
from sessionmgr.policy import Policy, PolicyError
from sessionmgr.render import render_html, render_text

__all__ = ["main"]


def _load_policy(path: Path | None) -> Policy:
    try:
        return Policy.load(path)
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None


def _write(target: str, text: str, what: str) -> None:
    if target == "-":
        click.echo(text)
        return
    try:
        Path(target).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the {what} to {target}: {exc.strerror}") from None
    click.echo(f"{what} written to {target}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sessionmgr")
def main() -> None:
    """Watch Signal-protocol decryption failures on WhatsApp bots and recover from them.

    \b
    Start with the simulation, which breaks real (simulated) Signal sessions
    and shows what the manager does about it:
      sessionmgr simulate
      sessionmgr simulate --seed 7 --hours 6 --html report.html
    """


@main.command()
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
@click.option("--no-manager", is_flag=True, help="Run the same world without the manager.")
@click.option(
    "--compare/--no-compare",
    default=True,
    show_default=True,
    help="Also run the same seed without the manager and say how many messages it saved.",
)
@click.option("--json", "json_out", metavar="PATH", help="Write the JSON report here ('-' for stdout).")
@click.option("--html", "html_out", metavar="PATH", help="Write a self-contained HTML report here.")
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
    compare: bool,
    json_out: str | None,
    html_out: str | None,
    quiet: bool,
) -> None:
    """Simulate bots whose Signal sessions break, with the manager recovering them.

    Runs on virtual time: a day of traffic takes seconds. Prints a summary;
    --json and --html write the full report.
    """
    try:
        from harness.simulate import SimConfig, run_simulation
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
        policy=_load_policy(policy_path),
        manager=not no_manager,
    )
    show = not quiet and json_out != "-"
    report = _run_with_progress(run_simulation, config, "simulating" if show else None)
    baseline: dict[str, Any] | None = None
    if compare and not no_manager:
        from dataclasses import replace

        baseline = _run_with_progress(
            run_simulation, replace(config, manager=False), "baseline (no manager)" if show else None
        )
        d = baseline["delivery"]
        report["comparison"] = {
            "without_manager": {k: d[k] for k in ("sent", "delivered", "lost", "delivered_ratio")},
            "messages_saved": d["lost"] - report["delivery"]["lost"],
        }
    if json_out:
        _write(json_out, json.dumps(report, indent=2), "JSON report")
    if html_out:
        _write(html_out, render_html(report, compare=baseline), "HTML report")
    if not quiet:
        click.echo(render_text(report, compare=baseline), err=json_out == "-")


def _run_with_progress(run: Callable[..., dict[str, Any]], config: Any, label: str | None) -> dict[str, Any]:
    if label is None or not sys.stderr.isatty():
        return run(config)
    with click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=False) as bar:
        done = 0

        def progress(fraction: float) -> None:
            nonlocal done
            bar.update(int(fraction * 1000) - done)
            done = int(fraction * 1000)

        return run(config, progress=progress)


@main.command("classify")
@click.argument("texts", nargs=-1, required=True)
def classify_command(texts: tuple[str, ...]) -> None:
    """Print the category of each error TEXT (as the manager would judge it)."""
    for text in texts:
        click.echo(f"{classify(text)}\t{text}")


if __name__ == "__main__":  # pragma: no cover
    main()
