"""``sessionmgr status``: each session as the store holds it, and the latest decisions."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path

import click

from sessionmgr.cli.options import RAW_IDS_OPTION, StoreUnusable, open_store_option
from sessionmgr.clock import iso_z
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.store import AuditEntry, QuarantineEntry, SessionRecord
from sessionmgr.store.sqlite import StoreError

__all__ = ["status"]


@click.command()
@click.option(
    "--store",
    "store_url",
    required=True,
    metavar="PATH|URL",
    help=(
        "The store to read: a SQLite file (opened read only: never created, migrated or changed) "
        "or postgresql://...; exit status 4 if it cannot be used."
    ),
)
@click.option(
    "--audit", "audit_count", type=click.IntRange(min=0), default=10, show_default=True,
    help="Show this many of the latest decisions.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the records and decisions as JSON.")
@RAW_IDS_OPTION
def status(store_url: str, audit_count: int, as_json: bool, raw_ids: bool) -> None:
    """Print each session's state as the store holds it, and the latest decisions.

    A store written before sessions were pseudonymized may hold phone numbers:
    they are shown as pseudonyms (keyed by SESSIONMGR_PSEUDONYM_KEY) unless --raw-ids.
    """
    if "://" not in store_url and store_url not in ("memory:", ":memory:") and not Path(store_url).exists():
        raise click.BadParameter(f"no store at {store_url}", param_hint="--store")
    store = open_store_option(store_url, read_only=True)  # reading never migrates, chmods or creates
    assert store is not None

    async def read() -> tuple[list[SessionRecord], list[AuditEntry], list[QuarantineEntry]]:
        try:
            return await store.records(), await store.audit(), await store.quarantined()
        finally:
            await store.close()

    try:
        records, audit, quarantine = asyncio.run(read())
    except (sqlite3.DatabaseError, StoreError) as exc:
        raise StoreUnusable(f"cannot read the store {store_url}: {exc}") from None
    pseudonymizer = Pseudonymizer(raw=raw_ids)
    kept = Counter(pseudonymizer.session(q.session) for q in quarantine)
    latest = audit[-audit_count:] if audit_count else []
    records, latest = _shown(records, latest, pseudonymizer)
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
        lines = [
            (_short(entry.at), entry.session, f"{entry.kind} (advised)" if entry.detail.get("advised") else entry.kind,
             ", ".join(f"{k}={v}" for k, v in entry.detail.items() if k != "advised"))
            for entry in latest
        ]  # fmt: skip
        # columns as wide as their longest cell, so long session names and advised kinds stay aligned
        session_w, kind_w = max(len(line[1]) for line in lines), max(len(line[2]) for line in lines)
        for at, name, kind, detail in lines:
            click.echo(f"  {at}  {name:<{session_w}}  {kind:<{kind_w}}  {detail}".rstrip())
        if any(entry.detail.get("advised") for entry in audit):
            # an advisory manager (sessionmgr watch) decides but never acts; its counts above include what it advised
            click.echo("(advised): decided by an advisory manager and not carried out; the counts above include them")


def _shown(
    records: list[SessionRecord], audit: list[AuditEntry], pseudonymizer: Pseudonymizer
) -> tuple[list[SessionRecord], list[AuditEntry]]:
    """What the store holds, with the phone numbers an older store kept raw pseudonymized for display."""
    if pseudonymizer.raw:
        return records, audit
    session = pseudonymizer.session
    shown = [
        dataclasses.replace(
            r,
            session=session(r.session),
            last_error=None if r.last_error is None else pseudonymizer.scrub(r.last_error),
        )
        for r in records
    ]
    entries = [
        dataclasses.replace(
            e,
            session=session(e.session),
            detail={k: pseudonymizer.scrub(v) if isinstance(v, str) else v for k, v in e.detail.items()},
        )
        for e in audit
    ]
    return shown, entries


def _short(value: datetime | None) -> str:
    return "" if value is None else iso_z(value, "seconds")
