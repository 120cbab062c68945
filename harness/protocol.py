"""Just enough of the Signal protocol, with libsignal-node's state and errors, to break for real.

Symmetric chains are real: the message key is HMAC(chain key, 0x01), the next
chain key HMAC(chain key, 0x02), bodies are encrypted with a keystream from
the message key and carry an 8-byte truncated HMAC-SHA256. Key agreement is
modelled, not computed: a "public" prekey here is its secret, so a sender can
derive the same root key the receiver derives from its stored prekeys. What
matters is preserved: a receiver that lost a prekey cannot derive the root, a
corrupted chain key yields the wrong MAC key, a reused counter has no key left.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "MAX_SKIP",
    "BadMac",
    "BotKeys",
    "Frame",
    "MessageCounterError",
    "PreKeyError",
    "ReceivingSession",
    "SendingSession",
    "SessionError",
    "SessionRecord",
    "SignalError",
    "UntrustedIdentityKeyError",
    "decrypt",
    "encrypt",
    "hmac_sha256",
    "js_error_text",
    "root_key",
]

#: libsignal-node refuses to skip ahead more than this many message keys.
MAX_SKIP: Final = 2000
MAC_LENGTH: Final = 8


# --- libsignal-node's error classes, with its names and texts --------------------


class SignalError(Exception):
    """Base of libsignal-node's errors; ``name`` is the JavaScript class name."""

    name = "SignalError"


class UntrustedIdentityKeyError(SignalError):
    name = "UntrustedIdentityKeyError"

    def __init__(self, addr: str) -> None:
        super().__init__()  # libsignal-node gives it no message, only a name
        self.addr = addr


class SessionError(SignalError):
    name = "SessionError"

    def __init__(self, message: str, causes: tuple[Exception, ...] = ()) -> None:
        super().__init__(message)
        #: what each stored session failed with, as libsignal-node logs them
        self.causes = causes


class MessageCounterError(SessionError):
    name = "MessageCounterError"


class PreKeyError(SessionError):
    name = "PreKeyError"


class BadMac(Exception):
    """libsignal-node's crypto.verifyMAC throws a plain ``Error("Bad MAC")``."""

    name = "Error"

    def __init__(self) -> None:
        super().__init__("Bad MAC")


# --- primitives ----------------------------------------------------------------------


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256, the one primitive every chain step and MAC is made of."""
    return hmac.new(key, data, hashlib.sha256).digest()


def _keystream(key: bytes, length: int) -> bytes:
    blocks = [hmac_sha256(key, b"ks" + i.to_bytes(4, "big")) for i in range((length + 31) // 32)]
    return b"".join(blocks)[:length]


def _xor(data: bytes, key: bytes) -> bytes:
    stream = _keystream(key, len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def step(chain_key: bytes) -> tuple[bytes, bytes]:
    """(message key, next chain key) from a chain key."""
    return hmac_sha256(chain_key, b"\x01"), hmac_sha256(chain_key, b"\x02")


def root_key(signed_prekey: bytes, prekey: bytes | None, base_key: bytes, identity: bytes) -> bytes:
    """The modelled agreement: both sides reach it only with the same prekey secrets."""
    return hmac_sha256(signed_prekey + (prekey or b""), base_key + identity)


def _mac(message_key: bytes, header: bytes, body: bytes) -> bytes:
    return hmac_sha256(hmac_sha256(message_key, b"mac"), header + body)[:MAC_LENGTH]


# --- state ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    """One encrypted message on the wire."""

    type: Literal["msg", "pkmsg"]
    sender: str
    message_id: str
    base_key: bytes
    counter: int
    body: bytes
    mac: bytes
    identity: bytes
    prekey_id: int | None = None
    signed_prekey_id: int | None = None


@dataclass(slots=True)
class SendingSession:
    """The peer's side: a sending chain towards one bot."""

    base_key: bytes
    chain_key: bytes
    counter: int = 0
    #: set until the bot acknowledges: frames go out as pkmsg carrying these ids
    pending_prekey: tuple[int | None, int] | None = None

    def skip(self, n: int) -> None:
        """Advance the chain by ``n`` keys, as if ``n`` frames were lost in transit."""
        for _ in range(n):
            _, self.chain_key = step(self.chain_key)
        self.counter += n


@dataclass(slots=True)
class ReceivingSession:
    """One entry of a bot's session record for a peer: a receiving chain."""

    base_key: bytes
    chain_key: bytes
    counter: int = 0
    message_keys: dict[int, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class SessionRecord:
    """The bot's record for one peer: the open session first, then closed ones."""

    sessions: list[ReceivingSession] = field(default_factory=list)

    def find(self, base_key: bytes) -> ReceivingSession | None:
        return next((s for s in self.sessions if s.base_key == base_key), None)


@dataclass(slots=True)
class BotKeys:
    """A bot's key store, as Baileys' auth state holds it."""

    identity: bytes
    signed_prekeys: dict[int, bytes]
    prekeys: dict[int, bytes]
    records: dict[str, SessionRecord] = field(default_factory=dict)
    trusted: dict[str, bytes] = field(default_factory=dict)
    #: libsignal-node's console output (console.error / console.warn), newest last
    console: list[str] = field(default_factory=list)


# --- the two directions -------------------------------------------------------------


def encrypt(session: SendingSession, sender: str, message_id: str, identity: bytes, plaintext: bytes) -> Frame:
    """Encrypt the next message on the peer's sending chain."""
    message_key, session.chain_key = step(session.chain_key)
    counter = session.counter
    session.counter += 1
    header = session.base_key + counter.to_bytes(4, "big")
    body = _xor(plaintext, message_key)
    mac = _mac(message_key, header, body)
    pending = session.pending_prekey
    if pending is None:
        return Frame("msg", sender, message_id, session.base_key, counter, body, mac, identity)
    return Frame("pkmsg", sender, message_id, session.base_key, counter, body, mac, identity, pending[0], pending[1])


def decrypt(keys: BotKeys, frame: Frame) -> tuple[bytes, int | None]:
    """Decrypt on the bot's side; returns (plaintext, prekey id consumed). Raises as libsignal-node does."""
    if frame.type == "pkmsg":
        return _decrypt_prekey_message(keys, frame)
    return _decrypt_message(keys, frame), None


def _decrypt_message(keys: BotKeys, frame: Frame) -> bytes:
    record = keys.records.get(frame.sender)
    if record is None:
        raise SessionError("No session record")
    if not record.sessions:
        raise SessionError("No sessions available")
    errors: list[Exception] = []
    for session in record.sessions:
        try:
            return _decrypt_with(session, frame)
        except (BadMac, SessionError) as exc:
            errors.append(exc)
    keys.console.append("Failed to decrypt message with any known session...")
    keys.console.extend(f"Session error:{js_error_text(e)}" for e in errors)
    raise SessionError("No matching sessions found for message", tuple(errors))


def _decrypt_prekey_message(keys: BotKeys, frame: Frame) -> tuple[bytes, int | None]:
    record = keys.records.get(frame.sender) or SessionRecord()
    trusted = keys.trusted.get(frame.sender)
    if trusted is not None and trusted != frame.identity:
        raise UntrustedIdentityKeyError(frame.sender)
    session = record.find(frame.base_key)
    consumed: int | None = None
    if session is None:
        prekey = keys.prekeys.get(frame.prekey_id) if frame.prekey_id is not None else None
        if frame.prekey_id is not None and prekey is None:
            raise PreKeyError("Invalid PreKey ID")
        signed = keys.signed_prekeys.get(frame.signed_prekey_id or -1)
        if signed is None:
            raise PreKeyError("Missing SignedPreKey")
        if record.sessions:
            keys.console.append("Closing open session in favor of incoming prekey bundle")
        root = root_key(signed, prekey, frame.base_key, frame.identity)
        session = ReceivingSession(frame.base_key, hmac_sha256(root, b"chain"))
        record.sessions.insert(0, session)
        consumed = frame.prekey_id
    plaintext = _decrypt_with(session, frame)  # pkmsg errors are not wrapped
    keys.records[frame.sender] = record
    keys.trusted[frame.sender] = frame.identity
    if consumed is not None:
        keys.prekeys.pop(consumed, None)
    return plaintext, consumed


def _decrypt_with(session: ReceivingSession, frame: Frame) -> bytes:
    # Work on copies and commit only on success, as libsignal-node stores the
    # record only after a message decrypts.
    chain_key, counter = session.chain_key, session.counter
    new_keys: dict[int, bytes] = {}
    if frame.counter >= counter:
        if frame.counter - counter > MAX_SKIP:
            raise SessionError("Over 2000 messages into the future!")
        while counter <= frame.counter:
            new_keys[counter], chain_key = step(chain_key)
            counter += 1
    message_key = new_keys.get(frame.counter) or session.message_keys.get(frame.counter)
    if message_key is None:
        raise MessageCounterError("Key used already or never filled")
    header = frame.base_key + frame.counter.to_bytes(4, "big")
    if not hmac.compare_digest(_mac(message_key, header, frame.body), frame.mac):
        raise BadMac()
    plaintext = _xor(frame.body, message_key)
    session.chain_key, session.counter = chain_key, counter
    session.message_keys.update(new_keys)
    session.message_keys.pop(frame.counter, None)
    if len(session.message_keys) > MAX_SKIP:  # bounded, oldest first
        for old in sorted(session.message_keys)[: len(session.message_keys) - MAX_SKIP]:
            del session.message_keys[old]
    return plaintext


def js_error_text(error: Exception) -> str:
    """How Node prints an error in ``"Session error:" + e``: ``Name: message``."""
    name = getattr(error, "name", type(error).__name__)
    return f"{name}: {error}" if str(error) else name
