"""Who is in the simulated world: bots (with their server-side prekey pool) and the peers writing to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from harness.population import PeerInfo
from harness.protocol import BotKeys, Frame, SendingSession

__all__ = ["SENDER_RECREATE_INTERVAL", "Bot", "Peer", "Phone"]

#: A sender rebuilds its session for a retry receipt without keys at most once an hour per peer
#: (whatsmeow ``retry.go`` L158 ``recreateSessionTimeout``, L160-L177 ``shouldRecreateSession``).
SENDER_RECREATE_INTERVAL: Final = 3600.0


@dataclass(slots=True)
class Bot:
    """One bot: its key store, and the prekey pool the server holds for it."""

    session: str
    keys: BotKeys
    #: one-time prekey ids the server still hands out, oldest first
    server_prekeys: list[int]
    signed_id: int
    next_prekey_id: int
    #: the id the server keeps handing out once its pool is dry
    last_resort: int | None = None
    connected: bool = True
    refill_pending: bool = False
    #: the server's "prekeys low" notice was lost: no refill until keys are regenerated
    refill_lost: bool = False
    #: the next this many messages to the bot reach the server without a payload
    absent_next: int = 0


@dataclass(slots=True)
class Peer:
    """A contact writing to one bot: its identity and its sending chain towards the bot."""

    info: PeerInfo
    session: str
    identity: bytes
    sending: SendingSession | None = None
    last_frame: Frame | None = None
    #: when this sender last rebuilt its session for a retry receipt without keys
    #: (whatsmeow ``retry.go`` L158-177 ``sessionRecreateHistory``)
    recreated_at: float | None = None

    def rebuilds_for_receipt(self, count: int, now: float) -> bool:
        """Whether a retry receipt without keys, the ``count``-th for a message, makes this sender rebuild.

        As whatsmeow's sender (``retry.go`` L302-L322, L160-L177): when it has no session, or from
        the 2nd count when its last rebuild is over an hour old; otherwise it re-encrypts on the
        session it has.
        """
        stale = self.recreated_at is None or now - self.recreated_at > SENDER_RECREATE_INTERVAL
        if self.sending is None or (count >= 2 and stale):
            self.recreated_at = now
            return True
        return False


@dataclass(slots=True)
class Phone:
    """The bot account's own phone: it holds every message and can resend one on request."""

    online: bool = True
    #: placeholder-resend requests that reached the phone / that it answered
    requests: int = 0
    answered: int = 0
