"""The phone rung: ask the user's own phone for a message the sender cannot help with.

Baileys schedules a placeholder resend 3 s after retries 1-2 and drops it if the
message decrypts meanwhile (src/Utils/message-retry-manager.ts:12,262-285,
src/Socket/messages-recv.ts:637-657,1735); the request then waits 2 s more before
it goes out and is given up after 8 s (messages-recv.ts:187-227; that extra 2 s
is not modelled: our delay is when the request is made). whatsmeow asks on the
1st retry after 5 s, only when ``AutomaticMessageRerequestFromPhone`` is set
(retry.go:405-448,489-494), and at once for an unavailable message
(message.go:323-332). Neither asks while the phone is known to be offline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sessionmgr.backend import Backend
from sessionmgr.clock import Clock
from sessionmgr.events import PhoneRequested
from sessionmgr.policy import Policy
from sessionmgr.recovery.actions import Actions
from sessionmgr.recovery.deadlines import Deadlines
from sessionmgr.recovery.eager import start_eagerly
from sessionmgr.recovery.messages import MessageLedger, OpenMessage
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.tasks import TaskSupervisor

__all__ = ["PhoneRung", "PhoneWait"]


@dataclass(slots=True, eq=False)
class PhoneWait:
    """One message's phone request: due at ``asked_at``, then asked and waited for until it times out."""

    entry: OpenMessage
    asked_at: float
    cancelled: bool = False
    #: the backend call, while it is in flight
    request: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        """The message ended or a later request replaced this one: nothing more happens for it."""
        self.cancelled = True
        request, self.request = self.request, None
        if request is not None and request is not asyncio.current_task():
            request.cancel()


class PhoneRung:
    """One pending phone request per message at most; a later one replaces it.

    Every message's two instants (when to ask, when to give up) wait in one
    heap behind one timer (:class:`~sessionmgr.recovery.deadlines.Deadlines`):
    a task and two loop timers per message were most of a storm replay's loop
    iterations.
    """

    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        emit: Emit,
        tasks: TaskSupervisor,
        backend: Backend,
        *,
        actions: Actions,
        ledger: MessageLedger,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._backend = backend
        self._actions = actions
        self._ledger = ledger
        self._offline: set[str] = set()
        #: (wait, asked) at its instant: when to ask (asked False) or give up (asked True)
        self._due: Deadlines[tuple[PhoneWait, bool]] = Deadlines(clock, tasks, self._fire)

    def status(self, session: str, *, online: bool) -> None:
        """The session's phone is known online (the default) or offline."""
        if online:
            self._offline.discard(session)
        else:
            self._offline.add(session)

    def online(self, session: str) -> bool:
        return session not in self._offline

    def schedule(self, entry: OpenMessage, delay: float) -> None:
        """Ask the phone for ``entry`` after ``delay`` unless it resolves first or the phone is offline."""
        if not self.online(entry.session):
            return
        if entry.phone is not None:
            entry.phone.cancel()
        wait = PhoneWait(entry, self._clock.monotonic() + delay)
        entry.phone = wait
        self._push(wait.asked_at, wait, asked=False)

    def _push(self, when: float, wait: PhoneWait, *, asked: bool) -> None:
        self._due.push(when, (wait, asked))

    def _fire(self, when: float, due: tuple[PhoneWait, bool]) -> None:
        wait, asked = due
        if wait.cancelled:
            return
        if asked:
            self._give_up(wait)
        else:
            self._ask(wait)

    def _ask(self, wait: PhoneWait) -> None:
        entry = wait.entry
        if not self._ledger.is_open(entry) or not self.online(entry.session):
            entry.phone = None
            if entry.spent:
                self._ledger.phone_done(entry, wait.asked_at)  # never asked, and its budget is spent
            return
        self._emit(PhoneRequested(session=entry.session, peer=entry.peer, message_id=entry.record.message_id),
                   t=wait.asked_at)  # fmt: skip
        # the backend call inline, as it was in a task per message; a task only if it must wait
        wait.request = start_eagerly(self._request(wait), self._tasks.timer)

    async def _request(self, wait: PhoneWait) -> None:
        entry = wait.entry
        session, peer, message_id = entry.session, entry.peer, entry.record.message_id
        backend = self._backend
        await self._actions.act_once(
            "request_from_phone", session, peer, lambda: backend.request_from_phone(session, peer, message_id)
        )
        if not wait.cancelled:
            wait.request = None
            self._push(wait.asked_at + self._policy.phone_request_timeout, wait, asked=True)

    def _give_up(self, wait: PhoneWait) -> None:
        entry = wait.entry
        entry.phone = None
        # nothing but the phone could bring it (an unavailable message, or one whose budget
        # ran out meanwhile), and the phone did not answer in time
        self._ledger.phone_done(entry, wait.asked_at + self._policy.phone_request_timeout)
