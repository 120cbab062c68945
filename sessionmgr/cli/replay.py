"""``sessionmgr replay``: captured logs fed to the manager, under one policy or several to compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sessionmgr.cli.console import show
from sessionmgr.cli.options import (
    RAW_IDS_OPTION,
    STORE_OPTION,
    close_store,
    load_policy,
    open_store_option,
    reading_options,
    write,
)
from sessionmgr.cli.progress import bytes_bar
from sessionmgr.policy import Policy, PolicyError
from sessionmgr.report.builder import build_report
from sessionmgr.report.compare import what_if_row
from sessionmgr.report.html import render_html
from sessionmgr.report.text import summary
from sessionmgr.trace.readers import Reader, ReadError

if TYPE_CHECKING:
    from harness.replay import ReplayResult

__all__ = ["EXIT_UNREAD", "policies_to_compare", "replay", "unread_files"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reading_options(
    "Input format; auto guesses per file (canonical trace, the seed's format) and per line for operators' logs "
    "(pino JSON or pino-pretty with libsignal's console, libsignal's console alone, whatsmeow/zerolog, Evolution API)."
)
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
@click.option(
    "--max-gap",
    "max_gap",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    metavar="DAYS",
    help="Reject a line more than DAYS from its neighbours in its file unless the lines after it go on from it "
    "(a lone far-off time); 0 rejects none.",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Exit 0 even when a file yields no event (or no failure while most of its lines were rejected).",
)
@STORE_OPTION
@RAW_IDS_OPTION
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
    max_gap: float,
    allow_empty: bool,
    store_url: str | None,
    raw_ids: bool,
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

    candidates = policies_to_compare(policies, sweep)
    visible = not quiet and json_out != "-"
    if store_url is not None and len(candidates) > 1:
        raise click.UsageError("--store keeps one policy's decisions: drop --store to compare policies")
    results: list[tuple[str, ReplayResult]] = []
    for name, policy in candidates:
        readers = [
            Reader(p, format=fmt, session=session, session_field=session_field, strict=strict)  # type: ignore[arg-type]
            for p in paths
        ]
        total = sum(p.stat().st_size for p in paths)
        store = open_store_option(store_url)
        try:
            with bytes_bar(f"replaying ({name})" if visible else None, readers, total) as progress:
                result = run_replay(
                    readers, policy=policy, tail=tail, store=store, progress=progress,
                    max_gap=max_gap * 86_400 if max_gap else None, raw_ids=raw_ids,
                )  # fmt: skip
        except ReadError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            close_store(store)
        results.append((name, result))
    report = results[0][1].report
    if len(results) > 1:
        rows = [what_if_row(name, r.report) for name, r in results]
        report = build_report(results[0][1].parts, what_if=rows)
    if json_out:
        write(json_out, json.dumps(report, indent=2), "JSON report")
    # with --policy or --sweep, say which policy the summary and the page are from
    named = results[0][0] if policies or sweep else None
    if html_out:
        write(html_out, render_html(report, policy=named), "HTML report")
    if not quiet:
        show(summary(report, policy=named), err=json_out == "-")
    files = report.get("input", {}).get("files", [])
    unread = unread_files(files)
    for row in files:
        if row.get("hint") and not any(str(row.get("file")) in warning for warning in unread):
            click.secho(f"sessionmgr replay: {row.get('file')}: {row['hint']}", err=True, fg="yellow")
    # a damaged .gz: its file named, the events before the damage kept in the report above
    unread += [f"{r.path}: {r.damaged}; the report covers the lines before it" for r in readers if r.damaged]
    for warning in unread:
        click.secho(f"sessionmgr replay: {warning}", err=True, fg="red", bold=True)
    if unread and not allow_empty:
        click.secho(
            "sessionmgr replay: the report above does not cover these files; --allow-empty accepts that", err=True
        )
        raise SystemExit(EXIT_UNREAD)


#: The exit status when a file yielded nothing the report could use (see :func:`unread_files`).
EXIT_UNREAD = 3


def unread_files(files: list[dict[str, Any]]) -> list[str]:
    """A warning for each file whose report would look clean only because the file was not understood.

    That is a file that yielded no event, or no decryption failure while more
    than half of its lines were rejected.
    """
    warnings = []
    for row in files:
        lines, events, rejected = row.get("lines", 0), row.get("events", 0), row.get("rejected", 0)
        if events and (row.get("failures", 1) or rejected * 2 <= lines):
            continue
        ignored = ", ".join(f"{n} {kind}" for kind, n in row.get("ignored", {}).items()) or "none"
        what = "no event" if not events else "no decryption failure"
        hint = f"; {row['hint']}" if row.get("hint") else ""
        warnings.append(
            f"{row.get('file')}: {what} in {lines} lines read as {row.get('format')!r} "
            f"(ignored: {ignored}; rejected: {rejected}){hint}"
        )
    return warnings


def policies_to_compare(paths: tuple[Path, ...], sweep: str | None) -> list[tuple[str, Policy]]:
    """The policies --policy and --sweep name, each with the name the what-if table shows."""
    base = [(p.stem, load_policy(p)) for p in paths] or [("default", load_policy(None))]
    if sweep is None:
        return base
    knob, sep, values = sweep.partition("=")
    if not sep or not values:
        raise click.BadParameter("expected KNOB=V1,V2,...", param_hint="--sweep")
    knob = knob.strip()
    if knob not in base[0][1].to_dict():
        raise click.BadParameter(f"unknown policy field {knob!r}", param_hint="--sweep")
    out: list[tuple[str, Policy]] = []
    for value in values.split(","):
        try:
            # the values parse as the environment variable would, but an error is about --sweep
            policy = base[0][1].with_env({f"SESSIONMGR_{knob.upper()}": value.strip()})
        except PolicyError as exc:
            raise click.BadParameter(f"{knob}={value.strip()}: {exc.reason}", param_hint="--sweep") from None
        out.append((f"{knob}={value.strip()}", policy))
    return out
