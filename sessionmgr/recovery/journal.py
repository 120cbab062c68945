"""The journal: write-behind batches to the store, retried until written, and the audit log fed from the bus.

A write that fails (a database locked by another process, a server gone) is
retried with backoff on the clock until it succeeds; what is decided meanwhile
joins it, so nothing is dropped and order is kept. The rows held are bounded by
``max_queued_rows``: past it, records and ledger rows are coalesced (exactly:
the last write of a key wins), and only then the oldest audit entries are
dropped, with an error in the log and in :attr:`Journal.dropped_audit`.
:meth:`Journal.close` waits at most ``close_timeout`` seconds for a failing
store, then logs exactly what it could not write.

A store that writes without waiting (memory) is written when a step's batch is
flushed if nothing is ahead of it, sparing a writer wake-up (two loop
iterations a step): the writer's own attempt (``_write_next``), so a failure is
retried the same way; a wait is finished by the writer first. A
:class:`~sessionmgr.store.MemoryStore` as it is (its own ``apply``: it never
waits nor fails) is written each row as it is decided once the journal has
started, with no batch, no flush and no loop iteration for it, and its audit
entries are made only if read (:meth:`~sessionmgr.store.MemoryStore.audit_later`):
nothing can fail between a decision's rows, so they land together all the same.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable

from sessionmgr.clock import Clock, LoopClock
from sessionmgr.events import Event
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.eager import start_eagerly
from sessionmgr.store import AuditEntry, MemoryStore, MessageRecord, QuarantineEntry, SessionRecord, Store, WriteBatch
from sessionmgr.store.fencing import LeaseLost

__all__ = ["Journal"]

_log = logging.getLogger("sessionmgr.manager")

#: Seconds between two attempts at a failing write: doubling from the first, never above the last.
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 30.0
#: While writes keep failing, say so again at most this often (seconds of the clock).
_REMIND_EVERY = 60.0


class Journal:
    """Collects what the manager decides in one step of the loop and writes it as one batch.

    A decision's status change and its audit entry land together or not at
    all. One writer task keeps batches in decision order without the manager
    awaiting them. Subscribe :meth:`audit` to the bus: every published decision
    that is audited becomes an entry, peers pseudonymized and texts scrubbed;
    the event itself is never changed. Failing writes, the bound on what is
    held, and writing at once: see the module's docstring.
    """

    def __init__(
        self,
        store: Store,
        pseudonymizer: Pseudonymizer,
        clock: Clock | None = None,
        *,
        max_queued_rows: int = 100_000,
        close_timeout: float = 30.0,
    ) -> None:
        self.store = store
        self._clock = clock or LoopClock()
        self.max_queued_rows = max_queued_rows
        self.close_timeout = close_timeout
        self._batch = WriteBatch()  # this step's decisions
        # flushed, not yet handed to the store: one batch per step while writes succeed (so a run's
        # transactions do not depend on thread timing), all merged into one while they fail
        self._pending: deque[WriteBatch] = deque()
        self._pending_rows = 0
        self._flush_scheduled = False
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._eager = isinstance(store, MemoryStore)  # writes without waiting: at once if nothing is ahead
        # one that never waits nor fails (its own apply): written in the flush, audit entries made only if read
        self._direct = store if isinstance(store, MemoryStore) and _plain(store) else None
        self._now: MemoryStore | None = None  # that store, once started: each row written as decided
        self._entry = functools.partial(_entry, pseudonymizer)
        self._started: asyncio.Task[None] | None = None  # an eager attempt that waits: the writer's next
        #: told when a shared store refused writes because another worker owns those sessions
        self.on_lease_lost: Callable[[LeaseLost], None] | None = None
        #: failed write attempts so far, and audit entries dropped because the bound was hit
        self.write_failures = 0
        self.dropped_audit = 0
        self._in_flight = 0
        # the failing episode: since when (clock seconds), how many attempts, the next wait, the last warning
        self._failing_since: float | None = None
        self._attempts = 0
        self._delay = _FIRST_BACKOFF
        self._reminded = 0.0

    @property
    def queued_rows(self) -> int:
        """Rows decided and not yet written (including a batch being written or retried)."""
        return self._in_flight + self._pending_rows + len(self._batch)

    def start(self) -> None:
        self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._idle.set()
        self._writer = asyncio.create_task(self._write_loop(), name="sessionmgr-store-writer")
        if self._direct is not None:
            self._flush()  # what was decided before, first
            self._now = self._direct

    async def close(self) -> None:
        """Write what is pending (waiting at most ``close_timeout`` for a failing store), then stop the writer."""
        if self._writer is None or self._idle is None:
            return
        self._now = None
        self._flush()
        written = asyncio.ensure_future(self._idle.wait())
        deadline = asyncio.ensure_future(self._clock.sleep(self.close_timeout))
        await asyncio.wait((written, deadline), return_when=asyncio.FIRST_COMPLETED)
        deadline.cancel()
        written.cancel()
        self._writer.cancel()
        await asyncio.gather(self._writer, written, deadline, return_exceptions=True)
        if self._started is not None:  # an attempt started at once that the writer had not yet taken over
            self._started.cancel()
            await asyncio.gather(self._started, return_exceptions=True)
            self._started = None
        self._writer = None
        unwritten = WriteBatch()
        for part in (*self._pending, self._batch):
            unwritten.extend(part)
        if unwritten:
            _log.error("store still failing after %.0f s at shutdown: %s NOT confirmed written",
                       self.close_timeout, _rows(unwritten))  # fmt: skip

    def record(self, record: SessionRecord) -> None:
        if self._now is not None:
            self._now.write_record(record)
            return
        self._batch.records.append(record)
        self._schedule_flush()

    def message(self, record: MessageRecord) -> None:
        if self._now is not None:
            self._now.write_message(record)
            return
        self._batch.messages.append(record)
        self._schedule_flush()

    def quarantine(self, entry: QuarantineEntry) -> None:
        if self._now is not None:
            self._now.apply_now(WriteBatch(quarantine=[entry]))
            return
        self._batch.quarantine.append(entry)
        self._schedule_flush()

    def audit(self, event: Event) -> None:
        """Bus handler: keep audited decisions in the audit log."""
        if event.decision and event.audited:
            if self._now is not None:
                self._now.audit_later(event, self._entry)
                return
            self._batch.audit.append(self._entry(event))
            self._schedule_flush()

    async def commit(self) -> None:
        """Make everything decided so far durable (waits as long as the store keeps failing)."""
        self._flush()
        if self._idle is not None and self._writer is not None:
            await self._idle.wait()

    def _schedule_flush(self) -> None:
        if self._writer is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._batch and self._wake is not None and self._idle is not None:
            ahead = self._pending or self._in_flight or self._started is not None or self._failing_since is not None
            if self._eager and not ahead:  # nothing pending, in flight, handed over or backing off: write it now
                self._write_now()
                return
            if self._failing_since is not None and self._pending:
                self._pending[-1].extend(self._batch)  # joins the batch being retried
            else:
                self._pending.append(self._batch)
            self._pending_rows += len(self._batch)
            self._batch = WriteBatch()
            self._idle.clear()
            self._wake.set()
            if not self._in_flight:  # else once the attempt in flight failed (then it is the oldest)
                self._bound()

    def _write_now(self) -> None:
        """Write this step's batch now as the writer's attempt; what must wait (a failure's backoff too) it finishes."""
        assert self._wake is not None and self._idle is not None
        batch, self._batch = self._batch, WriteBatch()
        self._started = start_eagerly(self._write_next(batch), asyncio.ensure_future)
        if self._started is not None or self._pending:  # it waits (the store, or a failure's backoff): not idle
            self._idle.clear()
            self._wake.set()
        elif not self._batch and not self._flush_scheduled:
            self._idle.set()

    def _bound(self) -> None:
        """Keep the pending rows within ``max_queued_rows``: merge and coalesce, then drop the oldest
        audit entries, loudly (records, ledger rows and quarantined keys are never dropped)."""
        if self._pending_rows <= self.max_queued_rows:
            return
        merged = self._merge_pending()
        merged.coalesce()
        excess = min(len(merged) - self.max_queued_rows, len(merged.audit))
        if excess > 0:
            first = self.dropped_audit == 0
            self.dropped_audit += excess
            del merged.audit[:excess]
            if first:  # then again, with the running total, in each reminder of the write loop
                _log.error(
                    "store writes failing and more than %d rows queued: dropping the oldest audit entries",
                    self.max_queued_rows,
                )
        self._pending_rows = len(merged)

    def _merge_pending(self) -> WriteBatch:
        """All pending batches as one, in decision order (applying it equals applying each in turn)."""
        merged = self._pending.popleft() if self._pending else WriteBatch()
        while self._pending:
            merged.extend(self._pending.popleft())
        self._pending.append(merged)
        return merged

    async def _write_loop(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._started is not None:  # an attempt started at once, ahead of everything pending
                try:
                    await self._started
                finally:
                    self._started = None
            while self._pending:
                batch = self._pending.popleft()
                self._pending_rows -= len(batch)
                await self._write_next(batch)
            if not self._batch and not self._flush_scheduled:
                self._idle.set()

    async def _write_next(self, batch: WriteBatch) -> None:
        """One attempt at ``batch``; a failed one goes back in front of the queue, and the backoff is waited."""
        self._in_flight = len(batch)
        try:
            written = await self._attempt(batch)
        except BaseException:  # cancelled by close(): still unwritten, as close() reports
            written = False
            raise
        finally:
            self._in_flight = 0
            if not written:
                # back in front of what was decided meanwhile: one transaction for all, in decision order
                self._pending.appendleft(batch)
                self._pending_rows += len(batch)
                self._merge_pending()
        if not written:
            self._bound()
            await self._clock.sleep(self._delay)
            self._delay = min(self._delay * 2, _MAX_BACKOFF)

    async def _attempt(self, batch: WriteBatch) -> bool:
        """Apply ``batch``; False if it failed and must be retried."""
        try:
            await self.store.apply(batch)
        except LeaseLost as lost:  # the rest of the batch was written
            if self.on_lease_lost is not None:
                self.on_lease_lost(lost)
            else:
                _log.exception("store write refused for %s", ", ".join(sorted(lost.sessions)))
        except Exception as exc:  # any failure is retried: dropping decisions is worse than waiting
            self._failed(batch, exc)
            return False
        if self._failing_since is not None:
            _log.warning(
                "store write succeeded after %d failed attempts over %.0f s: %s written",
                self._attempts, self._clock.monotonic() - self._failing_since, _rows(batch),
            )  # fmt: skip
        self._failing_since, self._attempts, self._delay = None, 0, _FIRST_BACKOFF
        return True

    def _failed(self, batch: WriteBatch, exc: Exception) -> None:
        self._attempts += 1
        self.write_failures += 1
        now = self._clock.monotonic()
        if self._failing_since is not None and now - self._reminded < _REMIND_EVERY:
            return
        since = "" if self._failing_since is None else f" for {now - self._failing_since:.0f} s"
        _log.warning(
            "store write failing%s (%s: %s); %s queued, retrying in %.1f s",
            since, type(exc).__name__, exc, _rows(batch), self._delay,
        )  # fmt: skip
        if self.dropped_audit:
            _log.error("store write queue over its bound: %d audit entries dropped so far", self.dropped_audit)
        self._reminded = now
        if self._failing_since is None:
            self._failing_since = now


def _plain(store: MemoryStore) -> bool:
    """A memory store with its own ``apply`` (not a test twin's that waits or fails)."""
    return getattr(store.apply, "__func__", None) is MemoryStore.apply


def _entry(pseudonymizer: Pseudonymizer, event: Event) -> AuditEntry:
    """``event``'s audit entry (the same whenever it is made: the event and the pseudonyms never change)."""
    detail = _detail(event, pseudonymizer)
    return AuditEntry(at=event.at, session=event.session, kind=event.kind, detail=detail)


def _detail(event: Event, pseudonymizer: Pseudonymizer) -> dict[str, object]:
    """An audited decision's fields, peers pseudonymized and texts scrubbed."""
    detail = event.fields()
    # whatever type a caller gave them: an int peer is a phone number too
    if detail.get("peer") is not None:
        detail["peer"] = pseudonymizer.pseudonym(str(detail["peer"]))
    for key in ("error", "reason", "message", "message_id"):
        value = detail.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            scrubbed = pseudonymizer.scrub(str(value))
            detail[key] = value if scrubbed == str(value) else scrubbed
    return detail


def _rows(batch: WriteBatch) -> str:
    return (
        f"{len(batch.records)} records, {len(batch.audit)} audit entries, "
        f"{len(batch.messages)} ledger rows, {len(batch.quarantine)} quarantined keys"
    )
