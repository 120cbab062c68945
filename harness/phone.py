"""The bot accounts' own phones: online or offline, answering placeholder-resend requests after a delay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from harness.delivery import Message
from harness.parties import Phone

__all__ = ["PhoneLine"]

#: Called when a phone's answer arrives: (session, message) to re-deliver.
Answer = Callable[[str, Message], None]


class PhoneLine:
    """One phone per session; ``answer`` re-delivers a message when its phone answers.

    A phone offline when a request arrives never sees it (an assumption: neither
    client's source says whether the server queues a peer request for an offline
    phone), and one that goes offline before its answer is due does not answer.
    """

    def __init__(self, sessions: Iterable[str], offline: Iterable[str], delay: float, answer: Answer) -> None:
        down = set(offline)
        self.phones = {session: Phone(online=session not in down) for session in sessions}
        self._delay = delay
        self._answer = answer

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
