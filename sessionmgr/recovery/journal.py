"""The journal: write-behind batches to the store, and the audit log fed from the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sessionmgr.events import Event
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.store import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, Store, WriteBatch
from sessionmgr.store.fencing import LeaseLost

__all__ = ["Journal"]

_log = logging.getLogger("sessionmgr.manager")


class Journal:
    """Collects what the manager decides in one step of the loop and writes it as one batch.

    A decision's status change and its audit entry land together or not at
    all. One writer task keeps batches in decision order without the manager
    awaiting them. Subscribe :meth:`audit` to the bus: every published decision
    that is audited becomes an entry, peers pseudonymized and texts scrubbed;
    the event itself is never changed.
    """

    def __init__(self, store: Store, pseudonymizer: Pseudonymizer) -> None:
        self.store = store
        self._pseudonymizer = pseudonymizer
        self._batch = WriteBatch()
        self._flush_scheduled = False
        self._writes: asyncio.Queue[WriteBatch] | None = None
        self._writer: asyncio.Task[None] | None = None
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
        # whatever type a caller gave them: an int peer is a phone number too
        if detail.get("peer") is not None:
            detail["peer"] = self._pseudonymizer.pseudonym(str(detail["peer"]))
        for key in ("error", "reason", "message", "message_id"):
            value = detail.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                scrubbed = self._pseudonymizer.scrub(str(value))
                detail[key] = value if scrubbed == str(value) else scrubbed
        return detail

    def _schedule_flush(self) -> None:
        if self._writes is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._batch and self._writes is not None:
            self._writes.put_nowait(self._batch)
            self._batch = WriteBatch()

    async def _write_loop(self) -> None:
        assert self._writes is not None
        while True:
            batch = await self._writes.get()
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
            finally:
                self._writes.task_done()
