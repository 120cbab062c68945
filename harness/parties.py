"""Who is in the simulated world: bots (with their server-side prekey pool) and the peers writing to them."""

from __future__ import annotations

from dataclasses import dataclass

from harness.population import PeerInfo
from harness.protocol import BotKeys, Frame, SendingSession

__all__ = ["Bot", "Peer", "Phone"]


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


@dataclass(slots=True)
class Phone:
    """The bot account's own phone: it holds every message and can resend one on request."""

    online: bool = True
    #: placeholder-resend requests that reached the phone / that it answered
    requests: int = 0
    answered: int = 0
