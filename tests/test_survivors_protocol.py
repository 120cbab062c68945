"""The simulated protocol's skipped-key cap (libsignal-node's 2000): how far ahead a message may be, how many keys stay."""

from __future__ import annotations

import pytest

from harness.protocol import (
    MAX_SKIP,
    BotKeys,
    MessageCounterError,
    ReceivingSession,
    SendingSession,
    SessionError,
    SessionRecord,
    decrypt,
    encrypt,
)

PEER = "peer-1"
CHAIN = b"c" * 32
BASE = b"b" * 32


def pair() -> tuple[SendingSession, BotKeys, ReceivingSession]:
    """A peer's sending chain and a bot whose receiving chain for it starts from the same key."""
    receiving = ReceivingSession(BASE, CHAIN)
    keys = BotKeys(identity=b"i" * 32, signed_prekeys={}, prekeys={}, records={PEER: SessionRecord([receiving])})
    return SendingSession(BASE, CHAIN), keys, receiving


def test_the_cap_is_libsignals_2000() -> None:
    """libsignal-node's limit is 2000 (libsignal 6.0.0, src/session_cipher.js:260-261, fillMessageKeys)."""
    assert MAX_SKIP == 2000


def test_a_message_exactly_2000_ahead_decrypts() -> None:
    """Skipping exactly MAX_SKIP keys is allowed: the message after 2000 lost ones decrypts."""
    sending, keys, _ = pair()
    sending.skip(MAX_SKIP)
    frame = encrypt(sending, PEER, "m1", keys.identity, b"hello")
    assert decrypt(keys, frame) == (b"hello", None)


def test_a_message_more_than_2000_ahead_is_refused() -> None:
    """A message 2001 keys ahead fails with libsignal-node's 'Over 2000 messages into the future!'."""
    sending, keys, _ = pair()
    sending.skip(MAX_SKIP + 1)
    frame = encrypt(sending, PEER, "m1", keys.identity, b"hello")
    with pytest.raises(SessionError) as info:
        decrypt(keys, frame)
    assert [str(c) for c in info.value.causes] == ["Over 2000 messages into the future!"]


def test_skipped_keys_are_capped_at_2000_dropping_the_oldest() -> None:
    """After skipping 2000 keys twice, the bot keeps only the newest 2000; the oldest skipped message is lost."""
    sending, keys, receiving = pair()
    early = [encrypt(sending, PEER, f"e{i}", keys.identity, b"early") for i in range(MAX_SKIP)]
    assert decrypt(keys, encrypt(sending, PEER, "m1", keys.identity, b"one"))[0] == b"one"
    assert len(receiving.message_keys) == MAX_SKIP
    later = [encrypt(sending, PEER, f"l{i}", keys.identity, b"later") for i in range(MAX_SKIP)]
    assert decrypt(keys, encrypt(sending, PEER, "m2", keys.identity, b"two"))[0] == b"two"
    assert len(receiving.message_keys) == MAX_SKIP
    with pytest.raises(SessionError) as info:
        decrypt(keys, early[0])  # its key was dropped: the oldest go first
    assert isinstance(info.value.causes[0], MessageCounterError)
    assert decrypt(keys, later[0])[0] == b"later"
