"""Restore: what the store remembers becomes the manager's state again after a restart."""

from __future__ import annotations

from datetime import timedelta

from sessionmgr.clock import Clock
from sessionmgr.recovery.alerts import AlertEvaluator
from sessionmgr.recovery.ladder import Ladder
from sessionmgr.recovery.messages import MessageLedger
from sessionmgr.recovery.state import SessionTable
from sessionmgr.store import AuditEntry, SessionRecord, Status, Store

__all__ = ["restore", "resume"]


async def restore(
    store: Store, clock: Clock, sessions: SessionTable, alerts: AlertEvaluator, ladder: Ladder, ledger: MessageLedger
) -> int:
    """Load every record, re-arm alerts and finish decisions a crash interrupted; returns the records loaded."""
    now_t, now_wall = clock.monotonic(), clock.wall()
    records = await store.records()
    # alerts that fired and never resolved are still active: they must not fire again
    audit = await store.audit()
    active: dict[tuple[str, str], AuditEntry] = {}
    for entry in audit:
        key = (str(entry.detail.get("rule")), entry.session)
        if entry.kind == "alert_fired":
            active[key] = entry
        elif entry.kind == "alert_resolved":
            active.pop(key, None)
    alerts.restore_active({key: (entry.at - now_wall).total_seconds() + now_t for key, entry in active.items()})
    # open messages, and those closed within the retention (so a late redelivery does not reopen them)
    ledger.restore(await store.messages(since=now_wall - timedelta(seconds=ledger.retention)), now_t)
    for record in records:
        resume(record, audit, clock, sessions, alerts, ladder, ledger)
    return len(records)


def resume(
    record: SessionRecord,
    audit: list[AuditEntry],
    clock: Clock,
    sessions: SessionTable,
    alerts: AlertEvaluator,
    ladder: Ladder,
    ledger: MessageLedger,
) -> None:
    """One session's record becomes its state again; what a crash (or a vanished owner) left undone is done."""
    now_t, now_wall = clock.monotonic(), clock.wall()
    state = sessions.state(record.session)
    if record.status.is_down:
        ledger.close_session(record.session, "lost")  # its connection is gone: so are its messages
    state.record = state.persisted = record
    if record.corrupted_since is not None:
        # carry "corrupted since" across the restart on this process's clock
        since = record.corrupted_since
        state.corrupted_since_t = now_t - (now_wall - since).total_seconds()
        done = {e.kind for e in audit if e.session == record.session and e.at >= since}
        alerts.restore_corrupted(record.session, state.corrupted_since_t)
        if record.status is Status.CORRUPTED and "disconnected" not in done:
            # decided before the crash but not yet carried out: do it now
            ladder.start_disconnect(state)
    if record.status is Status.UNHEALTHY:
        # errors are not persisted: after a restart the window is empty, so healthy
        sessions.set_status(state, Status.HEALTHY)
    if record.status is Status.REGENERATING:
        # caught mid-regeneration: do it again rather than trust a half-done one
        ladder.start_regeneration(state, "resumed after restart")
