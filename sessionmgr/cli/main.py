"""The ``sessionmgr`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from sessionmgr import __version__
from sessionmgr.classify import classify
from sessionmgr.events import Event
from sessionmgr.monitoring.logsink import JsonFormatter
from sessionmgr.policy import Policy, PolicyError
from sessionmgr.report.render import render_html, render_text
from sessionmgr.store import AuditEntry, QuarantineEntry, SessionRecord, Store, open_store
from sessionmgr.store.sqlite import StoreError
from sessionmgr.trace.readers import FORMATS, Reader, ReadError

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def reading_options(format_help: str) -> Callable[[F], F]:
    """--format, --session and --session-field, as every command that reads logs takes them."""

    options = (
        click.option(
            "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help=format_help
        ),
        click.option("--session", help="Session id for logs that do not name one (default: each file's name)."),
        click.option("--session-field", metavar="FIELD", help="JSON field of a Baileys log that names the session."),
    )

    def apply(command: F) -> F:
        for option in reversed(options):  # applied bottom-up, so --help lists them in this order
            command = option(command)
        return command

    return apply


STORE_OPTION = click.option(
    "--store",
    "store_url",
    metavar="PATH|URL",
    help="Keep the manager's decisions in this store: a SQLite file or sqlite:///path (default: in memory).",
)


def _load_policy(path: Path | None) -> Policy:
    try:
        return Policy.load(path)
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None


def _open_out(path: Path, what: str) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the {what} to {path}: {exc.strerror}") from None


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
@click.option(
    "--trace",
    "trace_out",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record the run as a canonical trace (replayable with 'sessionmgr replay').",
)
@STORE_OPTION
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
    trace_out: Path | None,
    store_url: str | None,
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
    store = _open_store(store_url)
    subscribers: list[Callable[[Event], None]] = []
    with contextlib.ExitStack() as stack:
        if trace_out is not None:
            from sessionmgr.trace.codec import TraceWriter

            handle = stack.enter_context(_open_out(trace_out, "trace"))
            subscribers.append(TraceWriter(handle, config.pseudonymizer(), source={"source": config.source()}))
        try:
            report = _run_with_progress(
                lambda c, **kw: run_simulation(c, store=store, subscribers=tuple(subscribers), **kw),
                config,
                "simulating" if show else None,
            )
        finally:
            _close_store(store)
    if trace_out is not None:
        click.echo(f"trace written to {trace_out}", err=True)
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


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reading_options("Input format; auto detects canonical traces, Baileys' pino logs and the seed's format.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy TOML; give it several times to compare what each would have decided.",
)
@click.option(
    "--sweep",
    metavar="KNOB=V1,V2,...",
    help="Compare policies that differ in one knob, e.g. unhealthy_threshold=3,5,8.",
)
@click.option(
    "--tail",
    type=click.FloatRange(min=0),
    default=None,
    help="Virtual seconds to run on after the last event (default: one health window).",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad line with its file, line and reason.")
@STORE_OPTION
@click.option("--json", "json_out", metavar="PATH", help="Write the JSON report here ('-' for stdout).")
@click.option("--html", "html_out", metavar="PATH", help="Write a self-contained HTML report here.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def replay(
    paths: tuple[Path, ...],
    fmt: str,
    session: str | None,
    session_field: str | None,
    policies: tuple[Path, ...],
    sweep: str | None,
    tail: float | None,
    strict: bool,
    store_url: str | None,
    json_out: str | None,
    html_out: str | None,
    quiet: bool,
) -> None:
    """Replay captured logs through the manager to see what it would have done.

    Events are fed at their own timestamps on virtual time; the manager's
    decisions are recorded, not carried out. Bad lines are counted and listed
    with their line numbers; every other line is accounted for.
    """
    from harness.replay import run_replay

    candidates = _policies(policies, sweep)
    show = not quiet and json_out != "-"
    if store_url is not None and len(candidates) > 1:
        raise click.UsageError("--store keeps one policy's decisions: drop --store to compare policies")
    results: list[tuple[str, dict[str, Any]]] = []
    for name, policy in candidates:
        readers = [
            Reader(p, format=fmt, session=session, session_field=session_field, strict=strict)  # type: ignore[arg-type]
            for p in paths
        ]
        total = sum(p.stat().st_size for p in paths)
        store = _open_store(store_url)
        try:
            report = _replay_with_progress(
                functools.partial(run_replay, store=store),
                readers,
                policy,
                tail,
                total,
                f"replaying ({name})" if show else None,
            )
        except ReadError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            _close_store(store)
        results.append((name, report))
    report = results[0][1]
    if len(results) > 1:
        report["what_if"] = [_what_if_row(name, r) for name, r in results]
    if json_out:
        _write(json_out, json.dumps(report, indent=2), "JSON report")
    if html_out:
        _write(html_out, render_html(report), "HTML report")
    if not quiet:
        out = [render_text(report)]
        if len(results) > 1:
            out.append(_what_if_table(report["what_if"]))
        click.echo("\n".join(out), err=json_out == "-")


def _policies(paths: tuple[Path, ...], sweep: str | None) -> list[tuple[str, Policy]]:
    base = [(p.stem, _load_policy(p)) for p in paths] or [("default", _load_policy(None))]
    if sweep is None:
        return base
    knob, sep, values = sweep.partition("=")
    if not sep or not values:
        raise click.BadParameter("expected KNOB=V1,V2,...", param_hint="--sweep")
    out: list[tuple[str, Policy]] = []
    for value in values.split(","):
        try:
            policy = base[0][1].with_env({f"SESSIONMGR_{knob.strip().upper()}": value.strip()})
        except PolicyError as exc:
            raise click.BadParameter(str(exc), param_hint="--sweep") from None
        if knob.strip() not in policy.to_dict():
            raise click.BadParameter(f"unknown policy field {knob.strip()!r}", param_hint="--sweep")
        out.append((f"{knob.strip()}={value.strip()}", policy))
    return out


_WHAT_IF_COLUMNS = ("unhealthy_transitions", "resends", "peer_resets", "regenerations", "regeneration_failures",
                    "corrupted", "cleaned", "alerts")  # fmt: skip


def _what_if_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    actions = report["actions"]
    return {
        "policy": name,
        "unhealthy_transitions": sum(s["unhealthy_transitions"] for s in report["sessions"].values()),
        **{k: actions[k] for k in _WHAT_IF_COLUMNS[1:-1]},
        "alerts": len(report["alerts"]),
    }


def _what_if_table(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["policy"]) for r in rows) + 2
    titles = [c.replace("_", " ") for c in _WHAT_IF_COLUMNS]
    header = "policy".ljust(width) + "".join(f"  {t}" for t in titles)
    lines = ["", "what if: the same events under each policy", header]
    for row in rows:
        cells = "".join(f"  {row[c]:>{len(t)}}" for c, t in zip(_WHAT_IF_COLUMNS, titles, strict=True))
        lines.append(row["policy"].ljust(width) + cells)
    return "\n".join(lines)


def _replay_with_progress(
    run: Callable[..., Any], readers: list[Reader], policy: Policy, tail: float | None, total: int, label: str | None
) -> dict[str, Any]:
    if label is None or not sys.stderr.isatty() or total < 5_000_000:
        report: dict[str, Any] = run(readers, policy=policy, tail=tail).report
        return report
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        done = 0

        def progress(_: int) -> None:
            nonlocal done
            now = sum(r.bytes_read for r in readers)
            bar.update(now - done)
            done = now

        finished: dict[str, Any] = run(readers, policy=policy, tail=tail, progress=progress).report
    return finished


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    envvar="SESSIONMGR_PSEUDONYM_KEY",
    required=True,
    help="Secret that keys the fake numbers (same key, same fakes). Or set SESSIONMGR_PSEUDONYM_KEY.",
)
def scrub(source: Path, target: Path, key: str) -> None:
    """Copy a captured log with every phone number replaced by a consistent fake one and
    message content dropped; everything a replay needs is kept."""
    from sessionmgr.trace.readers import open_text
    from sessionmgr.trace.scrub import Scrubber

    if source.resolve() == target.resolve():
        raise click.BadParameter("refusing to overwrite the source; give another TARGET", param_hint="TARGET")
    try:
        scrubber = Scrubber(key.encode())
        with open_text(source) as lines, target.open("w", encoding="utf-8") as out:
            count = sum(1 for line in scrubber.lines(lines) if out.write(line) is not None)
    except ImportError as exc:
        raise click.ClickException(
            f"scrub needs the harness extra ({exc.name}): pip install 'sessionmgr[harness]'"
        ) from None
    target.chmod(0o600)
    click.echo(f"{count} lines scrubbed into {target}", err=True)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@reading_options("Log format; auto guesses from what each file holds already.")
@click.option(
    "--listen",
    default="127.0.0.1:9464",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve /metrics and /health.",
)
@click.option(
    "--token", envvar="SESSIONMGR_TOKEN", help="Require 'Authorization: Bearer TOKEN' (or set SESSIONMGR_TOKEN)."
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy TOML (SESSIONMGR_* variables apply on top).",
)
@click.option("--from-start", is_flag=True, help="Read what the files hold already, not only what is appended.")
@click.option("--log-json", is_flag=True, help="Log the manager's events as JSON lines on stderr.")
@STORE_OPTION
def watch(
    paths: tuple[Path, ...],
    fmt: str,
    session: str | None,
    session_field: str | None,
    listen: str,
    token: str | None,
    policy_path: Path | None,
    from_start: bool,
    log_json: bool,
    store_url: str | None,
) -> None:
    """Follow live log files (as tail -F does) and advise: the manager's decisions are
    logged and exported as metrics, never carried out.

    \b
    Serves Prometheus metrics on /metrics and a JSON health report on /health.
    Stops cleanly on SIGTERM or Ctrl-C.
    """
    try:
        from sessionmgr.monitoring.watch import watch as run_watch
    except ImportError as exc:
        raise click.ClickException(
            f"watch needs the monitoring extra ({exc.name} is missing): pip install 'sessionmgr[monitoring]'"
        ) from None
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise click.BadParameter(f"expected HOST:PORT, got {listen!r}", param_hint="--listen")
    host = host.strip("[]")
    if host not in ("127.0.0.1", "::1", "localhost") and token is None:
        click.echo(f"warning: serving on {host} with no --token: anyone who can reach it can read it", err=True)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_json else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for name in ("sessionmgr",):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    store = _open_store(store_url)

    def ready(server: Any) -> None:
        where = f"http://{listen.rsplit(':', 1)[0]}:{server.port}"
        click.echo(f"watching {len(paths)} file(s); /metrics and /health on {where}", err=True)

    try:
        asyncio.run(
            run_watch(
                list(paths), format=fmt, session=session, session_field=session_field, host=host, port=int(port_text),  # type: ignore[arg-type]
                token=token, store=store, policy=_load_policy(policy_path), from_start=from_start, on_ready=ready,
            )
        )  # fmt: skip
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {listen}: {exc.strerror}") from None
    finally:
        _close_store(store)
    click.echo("stopped", err=True)


@main.command()
@click.option("--store", "store_url", required=True, metavar="PATH|URL", help="The store to read (a SQLite file).")
@click.option(
    "--audit", "audit_count", type=click.IntRange(min=0), default=10, show_default=True,
    help="Show this many of the latest decisions.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the records and decisions as JSON.")
def status(store_url: str, audit_count: int, as_json: bool) -> None:
    """Print each session's state as the store holds it, and the latest decisions."""
    if "://" not in store_url and store_url not in ("memory:", ":memory:") and not Path(store_url).exists():
        raise click.BadParameter(f"no store at {store_url}", param_hint="--store")
    store = _open_store(store_url)
    assert store is not None

    async def read() -> tuple[list[SessionRecord], list[AuditEntry], list[QuarantineEntry]]:
        try:
            return await store.records(), await store.audit(), await store.quarantined()
        finally:
            await store.close()

    try:
        records, audit, quarantine = asyncio.run(read())
    except (sqlite3.DatabaseError, StoreError) as exc:
        raise click.ClickException(f"cannot read the store {store_url}: {exc}") from None
    kept = Counter(q.session for q in quarantine)
    latest = audit[-audit_count:] if audit_count else []
    if as_json:
        sessions = [dataclasses.asdict(r) | {"quarantined": kept[r.session]} for r in records]
        click.echo(
            json.dumps({"sessions": sessions, "audit": [dataclasses.asdict(e) for e in latest]}, indent=2, default=str)
        )
        return
    if not records:
        click.echo("the store holds no sessions yet")
        return
    columns = (
        "session",
        "status",
        "errors",
        "regen",
        "failed",
        "corrupted since",
        "cleaned",
        "quarantined",
        "last error",
    )
    rows = [
        (
            r.session, r.status.value, str(r.errors), str(r.regenerations), str(r.regeneration_failures),
            _short(r.corrupted_since), "yes" if r.cleaned else "", str(kept[r.session] or ""),
            f"{r.last_error or ''} {_short(r.last_error_at)}".strip(),
        )
        for r in records
    ]  # fmt: skip
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in rows:
        line = "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        colour = {"corrupted": "red", "disconnected": "yellow", "unhealthy": "yellow"}.get(row[1])
        click.echo(click.style(line, fg=colour) if colour else line)
    if latest:
        click.echo(f"\nlatest decisions ({len(latest)} of {len(audit)}):")
        for entry in latest:
            detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items())
            click.echo(f"  {_short(entry.at)}  {entry.session:<10} {entry.kind:<24} {detail}")


def _short(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _open_store(url: str | None) -> Store | None:
    if url is None:
        return None
    try:
        return open_store(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from None


def _close_store(store: Store | None) -> None:
    if store is not None:
        asyncio.run(store.close())


@main.command("classify")
@click.argument("texts", nargs=-1, required=True)
def classify_command(texts: tuple[str, ...]) -> None:
    """Print the category of each error TEXT (as the manager would judge it)."""
    for text in texts:
        click.echo(f"{classify(text)}\t{text}")
