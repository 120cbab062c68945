"""The bot accounts' own phones: online or offline, answering placeholder-resend requests after a delay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from harness.delivery import Message
from harness.parties import Phone

if TYPE_CHECKING:
    from harness.world import WorldConfig

__all__ = ["PhoneLine"]

#: Called when a phone's answer arrives: (session, message) to re-deliver.
Answer = Callable[[str, Message], None]
#: Told (session, online) when a phone goes offline or comes back.
Status = Callable[[str, bool], None]


class PhoneLine:
    """One phone per session; ``answer`` re-delivers a message when its phone answers.

    A phone offline when a request arrives never sees it (an assumption: neither
    client's source says whether the server queues a peer request for an offline
    phone), and one that goes offline before its answer is due does not answer.
    """

    def __init__(self, sessions: Iterable[str], config: WorldConfig, answer: Answer, status: Status | None) -> None:
        self.phones = {session: Phone(online=session not in config.phones_offline) for session in sessions}
        self._delay = config.phone_delay
        self._answer = answer
        self._status = status

    def set_online(self, session: str, online: bool) -> None:
        """``session``'s phone goes offline or comes back (told to ``status`` when that is visible)."""
        self.phones[session].online = online
        if self._status is not None:
            self._status(session, online)

    def ask(self, session: str, message: Message) -> None:
        """A placeholder-resend request for ``message`` reaches ``session``'s phone, if it is online."""
        phone = self.phones[session]
        if not phone.online:
            return
        phone.requests += 1
        asyncio.get_running_loop().call_later(self._delay, self._answers, session, message)

    def _answers(self, session: str, message: Message) -> None:
        phone = self.phones[session]
        if phone.online:
            phone.answered += 1
            self._answer(session, message)
