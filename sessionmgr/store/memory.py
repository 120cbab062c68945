"""The in-memory store: the twin every test uses, and the default when nothing must survive."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sessionmgr.store.base import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, WriteBatch

__all__ = ["MemoryStore"]

#: An audit entry to be made when read: what it is made from, and how.
_Deferred = tuple[Any, Callable[[Any], AuditEntry]]


class MemoryStore:
    """The in-memory store: the default, and the twin every other store is tested against.

    It keeps the latest ``max_audit`` audit entries (``None``: all), so a
    long-running process holds a bounded log; a durable store keeps them all.
    ``keep_closed_messages=False`` forgets a message's row once it has its
    outcome: for a process nobody restores from (a replay), whose memory would
    otherwise grow with every message it ever saw.

    :meth:`apply_now` writes a batch without a coroutine, the ``write_*``
    methods one row (for a journal writing each as it is decided: this store
    never waits nor fails, so a step's rows need no batch to land together),
    and :meth:`audit_later` an audit entry made only when read: a bounded log
    keeps the last ``max_audit`` of a replay's hundreds of thousands, and each
    made is a dict, a pseudonym and a regex pass (a tenth of a storm replay's time).
    """

    def __init__(self, *, max_audit: int | None = 100_000, keep_closed_messages: bool = True) -> None:
        self._keep_closed = keep_closed_messages
        self._records: dict[str, SessionRecord] = {}
        self._audit: deque[AuditEntry | _Deferred] = deque(maxlen=max_audit)
        self._quarantine: list[QuarantineEntry] = []
        self._leases: dict[str, tuple[str, datetime]] = {}
        self._messages: dict[tuple[str, str, str], MessageRecord] = {}
        #: writes so far (batches applied, rows written one by one, leases taken): the store's version
        self._writes = 0

    async def apply(self, batch: WriteBatch) -> None:
        self.apply_now(batch)

    def apply_now(self, batch: WriteBatch) -> None:
        """:meth:`apply`, at once."""
        self._writes += 1
        for record in batch.records:
            self._records[record.session] = record
        self._audit.extend(batch.audit)
        self._quarantine.extend(batch.quarantine)
        for message in batch.messages:
            self._put_message(message)

    def write_record(self, record: SessionRecord) -> None:
        """One session record, as a batch of it alone."""
        self._writes += 1
        self._records[record.session] = record

    def write_message(self, message: MessageRecord) -> None:
        """One ledger row, as a batch of it alone."""
        self._writes += 1
        self._put_message(message)

    def audit_later(self, item: Any, make: Callable[[Any], AuditEntry]) -> None:
        """The audit entry ``make(item)``, made when first read (``make`` must give the same entry whenever
        called), as a batch of it alone."""
        self._writes += 1
        self._audit.append((item, make))

    def _put_message(self, message: MessageRecord) -> None:
        key = (message.session, message.peer, message.message_id)  # MessageRecord.key, without the call
        stored = self._messages.get(key)
        if stored is None or stored.outcome is None:  # an outcome is final
            if message.outcome is None or self._keep_closed:
                self._messages[key] = message
            elif stored is not None:
                del self._messages[key]

    async def load(self, session: str) -> SessionRecord | None:
        return self._records.get(session)

    async def records(self) -> list[SessionRecord]:
        return sorted(self._records.values(), key=lambda r: r.session)

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        return [e for e in self._made() if session is None or e.session == session]

    def _made(self) -> deque[AuditEntry]:
        """The audit log with every deferred entry made, once (kept made for the next read)."""
        audit = self._audit
        if not all(isinstance(entry, AuditEntry) for entry in audit):
            made = [entry if isinstance(entry, AuditEntry) else entry[1](entry[0]) for entry in audit]
            audit.clear()
            audit.extend(made)
        return audit  # type: ignore[return-value]  # every entry is made now

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]:
        return [e for e in self._quarantine if session is None or e.session == session]

    async def messages(self, session: str | None = None, *, since: datetime | None = None) -> list[MessageRecord]:
        return [
            m
            for _, m in sorted(self._messages.items())
            if (session is None or m.session == session)
            and (since is None or m.closed_at is None or m.closed_at >= since)
        ]

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        holder = self._leases.get(session)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self._leases[session] = (owner, until)
        self._writes += 1
        return True

    async def version(self) -> int:
        """How many writes so far: only this process can write it."""
        return self._writes

    async def close(self) -> None:
        return None
