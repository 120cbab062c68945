"""Delivery accounting: every message a peer sent, from send to its end (delivered, or lost and why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DeliveryLedger", "Message", "Status", "Via", "quantiles"]

Status = Literal["pending", "delivered", "lost"]
Via = Literal["sender", "phone"]


@dataclass(slots=True)
class Message:
    """One message a peer sent, from send to its end: delivered or lost with a reason."""

    id: str
    session: str
    peer: str
    sent_at: float
    plaintext: bytes = field(repr=False)
    status: Status = "pending"
    failures: int = 0
    resends: int = 0
    delivered_at: float | None = None
    reason: str | None = None
    last_error: str | None = None
    #: the server holds no payload for it ("Message absent from node"): only the phone can help
    unavailable: bool = False
    #: who delivered it in the end: the sender (first send or a resend) or the bot's own phone
    via: Via | None = None
    #: the sender honoured its last retry receipt; the message stays pending for the phone
    sender_gave_up: str | None = None

    @property
    def recovered(self) -> bool:
        """Delivered only after at least one failed decryption."""
        return self.status == "delivered" and self.failures > 0


class DeliveryLedger:
    """The world's record of every message; the simulation report's delivery section comes from it."""

    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self._seq = 0

    def new(self, session: str, peer: str, now: float, plaintext: bytes) -> Message:
        """Record a new message with the next id."""
        self._seq += 1
        message = Message(f"M{self._seq:08d}", session, peer, now, plaintext)
        self.messages[message.id] = message
        return message

    @staticmethod
    def delivered(message: Message, now: float, via: Via = "sender") -> None:
        if message.status == "pending":
            message.status = "delivered"
            message.delivered_at = now
            message.via = via

    @staticmethod
    def failed(message: Message, category: str) -> None:
        if message.status == "pending":
            message.failures += 1
            message.last_error = category

    @staticmethod
    def lose(message: Message, reason: str) -> None:
        if message.status == "pending":
            message.status = "lost"
            message.reason = reason

    def find(self, message_id: str | None, jid: str) -> Message | None:
        """The message a request names, or (no id) the newest one from ``jid`` still pending."""
        return self.messages.get(message_id) if message_id else self.last_pending(jid)

    def last_pending(self, jid: str) -> Message | None:
        """The newest message from ``jid`` still pending (a retry receipt without a message id)."""
        for message in reversed(self.messages.values()):
            if message.peer == jid and message.status == "pending":
                return message
        return None

    def finish(self) -> None:
        """End of the run: every message still pending is lost, with why."""
        for message in self.messages.values():
            if message.status == "pending":
                if message.sender_gave_up:
                    reason = message.sender_gave_up
                elif message.last_error:
                    reason = f"undecryptable ({message.last_error})"
                else:
                    reason = "in flight at end of run"
                self.lose(message, reason)

    def report(self) -> dict[str, object]:
        """Sent, delivered, lost (by reason) and recovery delays, for the report."""
        sent = len(self.messages)
        delivered = [m for m in self.messages.values() if m.status == "delivered"]
        lost = [m for m in self.messages.values() if m.status == "lost"]
        reasons: dict[str, int] = {}
        for m in lost:
            reasons[m.reason or "unknown"] = reasons.get(m.reason or "unknown", 0) + 1
        recovered = sorted(m.delivered_at - m.sent_at for m in delivered if m.recovered and m.delivered_at is not None)
        return {
            "sent": sent,
            "delivered": len(delivered),
            "lost": len(lost),
            "delivered_ratio": round(len(delivered) / sent, 6) if sent else None,
            "lost_by_reason": dict(sorted(reasons.items())),
            "recovered": len(recovered),
            "delivered_by_phone": sum(1 for m in delivered if m.via == "phone"),
            "recovery_delay_s": quantiles(recovered),
        }


def quantiles(values: list[float]) -> dict[str, float] | None:
    """p50/p90/p99/max of sorted ``values`` (nearest rank, rounded to ms); ``None`` when empty."""
    if not values:
        return None

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 3)

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(values[-1], 3)}
