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

from sessionmgr.backend import Backend
from sessionmgr.clock import Clock
from sessionmgr.events import PhoneRequested
from sessionmgr.policy import Policy
from sessionmgr.recovery.actions import Actions
from sessionmgr.recovery.messages import MessageLedger, OpenMessage
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.tasks import TaskSupervisor

__all__ = ["PhoneRung"]


class PhoneRung:
    """One pending phone request per message at most; a later one replaces it."""

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
        entry.phone = self._tasks.timer(self._ask(entry, delay))

    async def _ask(self, entry: OpenMessage, delay: float) -> None:
        asked_at = self._clock.monotonic() + delay
        if delay > 0:
            await self._clock.sleep(delay)
        if not self._ledger.is_open(entry) or not self.online(entry.session):
            entry.phone = None
            return
        session, peer, message_id = entry.session, entry.peer, entry.record.message_id
        self._emit(PhoneRequested(session=session, peer=peer, message_id=message_id), t=asked_at)
        backend = self._backend
        await self._actions.act_once(
            "request_from_phone", session, peer, lambda: backend.request_from_phone(session, peer, message_id)
        )
        give_up = asked_at + self._policy.phone_request_timeout
        await self._clock.sleep(max(0.0, give_up - self._clock.monotonic()))
        entry.phone = None
        if entry.phone_only and self._ledger.is_open(entry):
            # nothing but the phone could bring it, and the phone did not answer in time
            self._ledger.close(entry, "expired", t=give_up)
