"""The journal: write-behind batches to the store, and the audit log fed from the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sessionmgr.events import Event
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.eager import start_eagerly
from sessionmgr.store import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, Store, WriteBatch
from sessionmgr.store.fencing import LeaseLost

__all__ = ["Journal"]

_log = logging.getLogger("sessionmgr.manager")


class Journal:
    """Collects what the manager decides in one step of the loop and writes it as one batch.

    A decision's status change and its audit entry land together or not at
    all. One writer task keeps batches in decision order without the manager
    awaiting them (a batch the writer is idle for is written at once, if the
    store can: see :meth:`_flush`). Subscribe :meth:`audit` to the bus: every published decision
    that is audited becomes an entry, peers pseudonymized and texts scrubbed;
    the event itself is never changed.
    """

    def __init__(self, store: Store, pseudonymizer: Pseudonymizer) -> None:
        self.store = store
        self._pseudonymizer = pseudonymizer
        self._batch = WriteBatch()
        self._flush_scheduled = False
        self._writes: asyncio.Queue[WriteBatch | asyncio.Future[None]] | None = None
        self._writer: asyncio.Task[None] | None = None
        #: batches handed to the writer and not yet written (queued or being written)
        self._queued = 0
        #: told when a shared store refused writes because another worker owns those sessions
        self.on_lease_lost: Callable[[LeaseLost], None] | None = None

    def start(self) -> None:
        self._writes = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="sessionmgr-store-writer")

    async def close(self) -> None:
        """Write what is pending, then stop the writer."""
        if self._writes is not None and self._writer is not None:
            await self.commit()
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    def record(self, record: SessionRecord) -> None:
        self._batch.records.append(record)
        self._schedule_flush()

    def message(self, record: MessageRecord) -> None:
        self._batch.messages.append(record)
        self._schedule_flush()

    def quarantine(self, entry: QuarantineEntry) -> None:
        self._batch.quarantine.append(entry)
        self._schedule_flush()

    def audit(self, event: Event) -> None:
        """Bus handler: keep audited decisions in the audit log."""
        if event.decision and event.audited:
            self._batch.audit.append(
                AuditEntry(at=event.at, session=event.session, kind=event.kind, detail=self._detail(event))
            )
            self._schedule_flush()

    async def commit(self) -> None:
        """Make everything decided so far durable."""
        self._flush()
        if self._writes is not None:
            await self._writes.join()

    def _detail(self, event: Event) -> dict[str, object]:
        detail = event.fields()
        if isinstance(detail.get("peer"), str):
            detail["peer"] = self._pseudonymizer.peer(detail["peer"])
        for key in ("error", "reason", "message"):
            if isinstance(detail.get(key), str):
                detail[key] = self._pseudonymizer.scrub(detail[key])
        return detail

    def _schedule_flush(self) -> None:
        if self._writes is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._batch or self._writes is None:
            return
        batch, self._batch = self._batch, WriteBatch()
        if self._queued == 0:
            # Nothing ahead of it: write it now, and only if the store must wait does the rest go
            # to the writer (behind it, later batches keep their order). A store that answers at
            # once (memory) cost a writer wake-up and two loop iterations per step otherwise.
            start_eagerly(self._apply(batch), self._enqueue)
        else:
            self._put(batch)

    def _put(self, item: WriteBatch | asyncio.Future[None]) -> None:
        assert self._writes is not None
        self._queued += 1
        self._writes.put_nowait(item)

    def _enqueue(self, rest: Coroutine[Any, Any, None]) -> None:
        self._put(asyncio.ensure_future(rest))

    async def _write_loop(self) -> None:
        assert self._writes is not None
        while True:
            item = await self._writes.get()
            try:
                # a batch, or the rest of one started eagerly that had to wait
                await (self._apply(item) if isinstance(item, WriteBatch) else item)
            finally:
                self._queued -= 1
                self._writes.task_done()

    async def _apply(self, batch: WriteBatch) -> None:
        try:
            await self.store.apply(batch)
        except LeaseLost as lost:
            if self.on_lease_lost is not None:
                self.on_lease_lost(lost)  # the rest of the batch was written
            else:
                _log.exception("store write refused for %s", ", ".join(sorted(lost.sessions)))
        except Exception:
            _log.exception(
                "store write failed (%d records, %d audit entries lost)", len(batch.records), len(batch.audit)
            )
