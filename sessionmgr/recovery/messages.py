"""The message ledger: a retry budget per undecryptable message, and exactly one outcome for each.

A message is keyed by (session, peer, message id), the peer as a pseudonym so
the store never holds a number (set ``SESSIONMGR_PSEUDONYM_KEY`` so the keys
match across restarts). It opens at its first failure that asks for a resend
(or at an ``unavailable`` one) and closes once, as one of
:data:`~sessionmgr.events.MESSAGE_OUTCOMES`: ``resolved_sender`` (a later
decrypt of it), ``resolved_phone`` (the phone sent it), ``expired`` (its retry
budget or its TTL ran out) or ``lost`` (its session was disconnected or
cleaned). A closed message is remembered for one TTL so a late redelivery of
it neither reopens it nor asks again; the store keeps the outcome for good.
"""

from __future__ import annotations

import asyncio
import heapq
from dataclasses import dataclass
from datetime import datetime

from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import DecryptError, MessageOutcome
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.store import MessageRecord

__all__ = ["MessageLedger", "OpenMessage"]

Key = tuple[str, str, str]


@dataclass(slots=True, eq=False)
class OpenMessage:
    """A message still being recovered."""

    record: MessageRecord
    #: the peer as observed (a pseudonym if it was restored from the store)
    peer: str
    first_t: float
    last_t: float
    #: a retry receipt for it is in flight: a redelivery meanwhile is a duplicate
    asking: bool = False
    #: only the phone can help (the server had no payload)
    phone_only: bool = False
    phone: asyncio.Task[None] | None = None

    @property
    def session(self) -> str:
        return self.record.session

    @property
    def retries(self) -> int:
        return self.record.retries


class MessageLedger:
    """Open messages with their budgets; closes each exactly once and publishes :class:`MessageOutcome`."""

    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        emit: Emit,
        tasks: TaskSupervisor,
        journal: Journal,
        *,
        pseudonymizer: Pseudonymizer,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._journal = journal
        self._pseudonymizer = pseudonymizer
        self._open: dict[Key, OpenMessage] = {}
        self._by_id: dict[tuple[str, str], Key] = {}
        #: closed keys and when (monotonic), forgotten one TTL later
        self._closed: dict[Key, float] = {}
        #: (instant, key): when to look at a key again (TTL expiry, or forgetting a closed one)
        self._deadlines: list[tuple[float, Key]] = []
        self._timer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._open)

    @property
    def ttl(self) -> float:
        return self._policy.message_retry_ttl

    def key(self, session: str, peer: str, message_id: str) -> Key:
        return (session, self._pseudonymizer.pseudonym(peer), message_id)

    # --- failures ---------------------------------------------------------------------

    def open(self, event: DecryptError, *, phone_only: bool = False) -> OpenMessage | None:
        """Note a failure of a message; the message if it is open and not already being asked for."""
        assert event.peer is not None and event.message_id is not None
        key = self.key(event.session, event.peer, event.message_id)
        if key in self._closed:
            return None  # a late redelivery of a message that already has its outcome
        entry = self._open.get(key)
        if entry is None:
            record = MessageRecord(
                session=key[0], peer=key[1], message_id=key[2], first_failed_at=event.at, last_failed_at=event.at
            )
            entry = OpenMessage(record, event.peer, event.t, event.t, phone_only=phone_only)
            self._open[key] = entry
            self._by_id[(key[0], key[2])] = key
        else:
            entry.last_t = event.t
            entry.record = entry.record.evolve(last_failed_at=event.at)
        self._arm(entry.last_t + self._policy.message_retry_ttl, key)
        self._journal.message(entry.record)
        if entry.asking or (phone_only and entry.phone is not None):
            return None  # a duplicate of a message already being asked for
        return entry

    def take_retry(self, entry: OpenMessage) -> int | None:
        """Spend one retry of the budget; the retry's number, or ``None`` (and ``expired``) if none is left."""
        if entry.retries >= self._policy.message_retry_max:
            self.close(entry, "expired")
            return None
        entry.record = entry.record.evolve(retries=entry.retries + 1)
        self._journal.message(entry.record)
        return entry.retries

    def lost_now(self, event: DecryptError) -> None:
        """A message failing while its session is down: nothing will recover it."""
        entry = self.open(event)
        if entry is not None:
            self.close(entry, "lost")

    # --- outcomes ---------------------------------------------------------------------

    def is_open(self, entry: OpenMessage) -> bool:
        return self._open.get(entry.record.key) is entry

    def resolve(self, session: str, peer: str | None, message_id: str, outcome: str) -> bool:
        """A message came through (from the sender or the phone); ``True`` if it was open."""
        key = self.key(session, peer, message_id) if peer is not None else self._by_id.get((session, message_id))
        entry = self._open.get(key) if key is not None else None
        if entry is None:
            return False
        self.close(entry, outcome)
        return True

    def close_session(self, session: str, outcome: str) -> None:
        """Every open message of ``session`` ends with ``outcome`` (``lost`` on disconnect or cleanup)."""
        for entry in [e for e in self._open.values() if e.session == session]:
            self.close(entry, outcome)

    def close(self, entry: OpenMessage, outcome: str, *, t: float | None = None) -> None:
        """End ``entry`` with ``outcome`` at monotonic ``t`` (now if not given): once, and only once."""
        key = entry.record.key
        if self._open.get(key) is not entry:
            return
        now = self._clock.monotonic() if t is None else t
        waited = round(max(0.0, now - entry.first_t), 9)  # whole ns, as the clock counts: no float dust
        del self._open[key]
        if self._by_id.get((key[0], key[2])) == key:
            del self._by_id[(key[0], key[2])]
        phone, entry.phone = entry.phone, None
        if phone is not None and phone is not asyncio.current_task():
            phone.cancel()
        self._closed[key] = now
        self._arm(now + self._policy.message_retry_ttl, key)
        event = self._emit(
            MessageOutcome(session=key[0], peer=entry.peer, message_id=key[2], outcome=outcome, waited=waited), t=t
        )
        entry.record = entry.record.evolve(outcome=outcome, closed_at=event.at, waited=waited)
        self._journal.message(entry.record)

    # --- time: TTL expiry and forgetting ----------------------------------------------------

    def _arm(self, when: float, key: Key) -> None:
        heapq.heappush(self._deadlines, (when, key))
        if self._timer is None or self._timer.done():
            self._timer = self._tasks.timer(self._expire())

    async def _expire(self) -> None:
        ttl = self._policy.message_retry_ttl
        while self._deadlines:
            when, key = self._deadlines[0]
            now = self._clock.monotonic()
            if to_ns(when) > to_ns(now):  # in whole ns, as the clock keeps it: no endless sub-ns sleeps
                await self._clock.sleep(when - now)
                continue
            heapq.heappop(self._deadlines)
            entry = self._open.get(key)
            if entry is not None and entry.last_t + ttl <= when:
                self.close(entry, "expired", t=when)  # stamped at the exact instant the TTL ran out
            elif entry is None and self._closed.get(key) is not None and self._closed[key] + ttl <= when:
                del self._closed[key]

    def footprint(self) -> dict[str, int]:
        return {"open_messages": len(self._open), "closed_messages": len(self._closed)}

    # --- restore ------------------------------------------------------------------------

    def restore(self, rows: list[MessageRecord], now_t: float) -> None:
        """Rows from the store (open, and closed within one TTL) become the ledger again."""
        now_wall = self._clock.wall()

        def mono(at: datetime) -> float:
            return now_t - (now_wall - at).total_seconds()

        for row in rows:
            if row.outcome is None:
                first, last = mono(row.first_failed_at), mono(row.last_failed_at)
                entry = OpenMessage(row, row.peer, first, last)
                self._open[row.key] = entry
                self._by_id[(row.session, row.message_id)] = row.key
                self._arm(max(last + self._policy.message_retry_ttl, now_t), row.key)
            elif row.closed_at is not None:
                closed = mono(row.closed_at)
                self._closed[row.key] = closed
                self._arm(closed + self._policy.message_retry_ttl, row.key)
