"""The message ledger: a retry budget per undecryptable message, and exactly one outcome for each.

A message is keyed by (session, peer, message id), the peer as a pseudonym so
the store never holds a number (set ``SESSIONMGR_PSEUDONYM_KEY`` so the keys
match across restarts). It opens at its first failure that asks for a resend
(or at an ``unavailable`` one) and closes once, as one of
:data:`~sessionmgr.events.MESSAGE_OUTCOMES`: ``resolved_sender`` (a later
decrypt of it), ``resolved_phone`` (the phone sent it), ``expired`` (its retry
budget or its TTL ran out) or ``lost`` (its session was disconnected or
cleaned). An outcome is final: a closed message is remembered (in memory and,
across restarts, from the store) for :data:`FINISHED_RETENTION` (at least one
TTL), and a later failure of it counts for health as usual but neither reopens
it nor spends a retry: no receipt, no reset, no phone request. (Baileys drops a
message's retry count after its 15-minute TTL and would ask again
(src/Utils/message-retry-manager.ts ~83-87); whatsmeow keeps its per-id counter
for the process's life (retry.go ~467-540). We ask no more once the message has
its outcome: a second outcome would count it twice. A failure more than the
retention after the outcome would open it anew: the store still keeps the first
outcome, but a second event would be published.)

A message whose budget or TTL runs out while its phone request is in flight
(scheduled or asked, within ``phone_request_timeout``) is not expired yet: it
is marked *spent*, the phone's answer or a decrypt of it still resolves it,
and the phone rung expires it when the request times out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from sessionmgr.clock import Clock
from sessionmgr.events import DecryptError, MessageOutcome
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.deadlines import Deadlines
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.store import MessageRecord

__all__ = ["FINISHED_RETENTION", "MessageLedger", "OpenMessage"]

#: how long a closed message id is remembered (seconds; one TTL if that is longer). A day:
#: the simulated world redelivers old frames ~40 min later, and WhatsApp's offline queue
#: can hold one for as long as a phone stays away. Bounded: ids older than this are dropped.
FINISHED_RETENTION: Final = 86_400.0

Key = tuple[str, str, str]


class PendingRequest(Protocol):
    """A phone request in progress for a message (see :class:`sessionmgr.recovery.phone.PhoneWait`)."""

    def cancel(self) -> None: ...


@dataclass(slots=True, eq=False)
class OpenMessage:
    """A message still being recovered."""

    record: MessageRecord
    #: the peer as observed (a pseudonym if it was restored from the store)
    peer: str
    first_t: float
    last_t: float
    #: ``record.key``, which no later row of it changes
    key: Key
    #: a retry receipt for it is in flight: a redelivery meanwhile is a duplicate
    asking: bool = False
    #: only the phone can help (the server had no payload)
    phone_only: bool = False
    phone: PendingRequest | None = None
    #: its budget or TTL ran out while the phone was due: it expires when the phone request is over
    spent: bool = False

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
        self._ttl = policy.message_retry_ttl
        self._retention = max(self._ttl, FINISHED_RETENTION)
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._journal = journal
        self._pseudonymizer = pseudonymizer
        self._open: dict[Key, OpenMessage] = {}
        self._by_id: dict[tuple[str, str], Key] = {}
        #: closed keys and when (monotonic), forgotten after the retention
        self._closed: dict[Key, float] = {}
        #: (closed at, key) in closing order: pruned as time goes by, with no timer (a timer per
        #: closed id, a day out, would hold the TTL timer's sleep past earlier deadlines)
        self._forget: deque[tuple[float, Key]] = deque()
        #: when to look at an open key again (TTL expiry); same-instant keys in key order
        self._deadlines: Deadlines[Key] = Deadlines(clock, tasks, self._expire)

    def __len__(self) -> int:
        return len(self._open)

    @property
    def ttl(self) -> float:
        return self._ttl

    @property
    def retention(self) -> float:
        """Seconds a closed message id is remembered (restore loads the store's rows closed within it)."""
        return self._retention

    def key(self, session: str, peer: str, message_id: str) -> Key:
        return (session, self._pseudonymizer.pseudonym(peer), message_id)

    # --- failures ---------------------------------------------------------------------

    def open(self, event: DecryptError, *, phone_only: bool = False) -> OpenMessage | None:
        """Note a failure of a message; the message if it is open and not already being asked for."""
        assert event.peer is not None and event.message_id is not None
        key = self.key(event.session, event.peer, event.message_id)
        self._prune()
        if key in self._closed:
            return None  # a late redelivery of a message that already has its outcome
        entry = self._open.get(key)
        if entry is None:
            record = MessageRecord(
                session=key[0], peer=key[1], message_id=key[2], first_failed_at=event.at, last_failed_at=event.at
            )
            entry = OpenMessage(record, event.peer, event.t, event.t, key, phone_only=phone_only)
            self._open[key] = entry
            self._by_id[(key[0], key[2])] = key
        else:
            entry.last_t = event.t
            record = entry.record
            entry.record = _evolved(record, event.at, record.retries, record.outcome, record.closed_at, record.waited)
        self._deadlines.push(entry.last_t + self._ttl, key, tiebreak=key)
        self._journal.message(entry.record)
        if entry.asking or (phone_only and entry.phone is not None):
            return None  # a duplicate of a message already being asked for
        return entry

    def take_retry(self, entry: OpenMessage) -> int | None:
        """Spend one retry of the budget; the retry's number, or ``None`` if none is left (then ``expired``,
        at once or when its phone request is over)."""
        record = entry.record
        if record.retries >= self._policy.message_retry_max:
            self._spend(entry)
            return None
        retries = record.retries + 1
        entry.record = _evolved(record, record.last_failed_at, retries, record.outcome, record.closed_at, record.waited)
        self._journal.message(entry.record)
        return retries

    def lost_now(self, event: DecryptError) -> None:
        """A message failing while its session is down: nothing will recover it."""
        entry = self.open(event)
        if entry is not None:
            self.close(entry, "lost")

    def _spend(self, entry: OpenMessage, *, t: float | None = None) -> None:
        """Its budget or TTL ran out: expired now, or once its phone request is over."""
        if entry.phone is not None:
            entry.spent = True  # the phone's answer is still due: see phone_done
        else:
            self.close(entry, "expired", t=t)

    def phone_done(self, entry: OpenMessage, t: float) -> None:
        """The phone request for ``entry`` is over at ``t`` (unanswered): expire it if nothing else can help."""
        if entry.phone_only or entry.spent:
            self.close(entry, "expired", t=t)

    # --- outcomes ---------------------------------------------------------------------

    def is_open(self, entry: OpenMessage) -> bool:
        return self._open.get(entry.key) is entry

    def resolve(self, session: str, peer: str | None, message_id: str, outcome: str) -> bool:
        """A message came through (from the sender or the phone); ``True`` if it was open."""
        entry = self._find(session, peer, message_id)
        if entry is None:
            return False
        self.close(entry, outcome)
        return True

    def holds(self, session: str, peer: str | None, message_id: str) -> bool:
        """Whether :meth:`resolve` would close a message now."""
        return self._find(session, peer, message_id) is not None

    def _find(self, session: str, peer: str | None, message_id: str) -> OpenMessage | None:
        """The open message a sender (or, without a peer, the session's only one by that id) names."""
        key = self.key(session, peer, message_id) if peer is not None else self._by_id.get((session, message_id))
        return self._open.get(key) if key is not None else None

    def close_session(self, session: str, outcome: str) -> None:
        """Every open message of ``session`` ends with ``outcome`` (``lost`` on disconnect or cleanup)."""
        for entry in [e for e in self._open.values() if e.session == session]:
            self.close(entry, outcome)

    def close(self, entry: OpenMessage, outcome: str, *, t: float | None = None) -> None:
        """End ``entry`` with ``outcome`` at monotonic ``t`` (now if not given): once, and only once."""
        key = entry.key
        if self._open.get(key) is not entry:
            return
        now = self._clock.monotonic() if t is None else t
        waited = round(max(0.0, now - entry.first_t), 9)  # whole ns, as the clock counts: no float dust
        del self._open[key]
        if self._by_id.get((key[0], key[2])) == key:
            del self._by_id[(key[0], key[2])]
        phone, entry.phone = entry.phone, None
        if phone is not None:
            phone.cancel()
        self._closed[key] = now
        self._forget.append((now, key))
        self._prune()
        event = self._emit(
            MessageOutcome(session=key[0], peer=entry.peer, message_id=key[2], outcome=outcome, waited=waited), t=t
        )
        record = entry.record
        entry.record = _evolved(record, record.last_failed_at, record.retries, outcome, event.at, waited)
        self._journal.message(entry.record)

    # --- time: TTL expiry and forgetting ----------------------------------------------------

    def _prune(self) -> None:
        """Forget closed ids older than the retention: the set of finished ids stays bounded."""
        horizon = self._clock.monotonic() - self._retention
        forget = self._forget
        while forget and forget[0][0] <= horizon:
            closed, key = forget.popleft()
            if self._closed.get(key) == closed:
                del self._closed[key]

    def _arm(self, when: float, key: Key) -> None:
        self._deadlines.push(when, key, tiebreak=key)

    def _expire(self, when: float, key: Key) -> None:
        entry = self._open.get(key)
        if entry is not None and entry.last_t + self._ttl <= when:
            self._spend(entry, t=when)  # stamped at the exact instant the TTL ran out

    def footprint(self) -> dict[str, int]:
        self._prune()
        return {"open_messages": len(self._open), "closed_messages": len(self._closed)}

    # --- restore ------------------------------------------------------------------------

    def restore(self, rows: list[MessageRecord], now_t: float) -> None:
        """Rows from the store (open, and closed within :attr:`retention`) become the ledger again."""
        now_wall = self._clock.wall()

        def mono(at: datetime) -> float:
            return now_t - (now_wall - at).total_seconds()

        closed_rows: list[tuple[float, Key]] = []
        for row in rows:
            if row.outcome is None:
                first, last = mono(row.first_failed_at), mono(row.last_failed_at)
                entry = OpenMessage(row, row.peer, first, last, row.key)
                self._open[row.key] = entry
                self._by_id[(row.session, row.message_id)] = row.key
                self._arm(max(last + self._ttl, now_t), row.key)
            elif row.closed_at is not None:
                closed = mono(row.closed_at)
                self._closed[row.key] = closed
                closed_rows.append((closed, row.key))
        self._forget.extend(sorted(closed_rows))


def _evolved(
    r: MessageRecord,
    last_failed_at: datetime,
    retries: int,
    outcome: str | None,
    closed_at: datetime | None,
    waited: float | None,
) -> MessageRecord:
    """``r`` with the fields a ledger changes, every one given: ``evolve`` without ``dataclasses.replace``'s walk
    over the fields (a third of a message's ledger time; tests/test_messages.py checks no field is left out)."""
    return MessageRecord(
        session=r.session, peer=r.peer, message_id=r.message_id, first_failed_at=r.first_failed_at,
        last_failed_at=last_failed_at, retries=retries, outcome=outcome, closed_at=closed_at, waited=waited,
    )  # fmt: skip
