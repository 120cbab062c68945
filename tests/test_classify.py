"""Classification: every text of the DESIGN table, in every form it arrives."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sessionmgr import Category, CiphertextStub, classify
from sessionmgr.classify import TEXT_RULES, classify_texts

C = Category

# The DESIGN.md table, text by text.
DESIGN_TABLE = {
    C.BAD_MAC: [
        "Bad MAC",
        "Bad MAC length",
        "Bad Mac!",
        "mismatching MAC in signal message",
        "MAC verification failed",
    ],
    C.SESSION_MISMATCH: ["No matching sessions found for message", "Chain closed", "No valid sessions"],
    C.NO_SESSION: [
        "No session record",
        "No sessions available",
        "No session found to decrypt message",
        "No SenderKeyRecord found for decryption",
        "No session for: 5511999990000.0",
    ],
    C.PREKEY: ["Invalid PreKey ID", "Missing SignedPreKey", "PreKeyError", "InvalidKeyIdException"],
    C.DUPLICATE: [
        "Key used already or never filled",
        "Message key not found. The counter was repeated or the key was not filled.",
        "Received message with old counter",
        "old counter",
    ],
    C.FUTURE: [
        "Over 2000 messages into the future!",
        "message index is over 2000 messages into the future",
        "message from too far into the future",
    ],
    C.IDENTITY: ["UntrustedIdentityKeyError", "untrusted identity"],
    C.DECRYPT_FAILED: ["failed to decrypt message", "Failed to decrypt"],
}
CASES = [(text, category) for category, texts in DESIGN_TABLE.items() for text in texts]


@pytest.mark.parametrize(("text", "category"), CASES)
def test_every_design_text_has_its_category(text: str, category: Category) -> None:
    """Each text of the DESIGN table classifies to its row."""
    assert classify(text) is category


@pytest.mark.parametrize(("text", "category"), CASES)
def test_matching_ignores_case_and_surroundings(text: str, category: Category) -> None:
    """Case and the text around a known phrase do not change the category."""
    assert classify(f"Error: {text.upper()} (at SessionCipher.decrypt)") is category


def test_public_values_are_the_documented_strings() -> None:
    """The string values are the documented names, plus a distinct not-crypto value."""
    assert {str(c) for c in Category} == {
        "bad_mac",
        "session_mismatch",
        "no_session",
        "prekey",
        "duplicate",
        "future",
        "identity",
        "unavailable",
        "decrypt_failed",
        "not_crypto",
    }
    assert classify("Bad MAC") == "bad_mac"


def test_most_specific_match_wins() -> None:
    """A leaf cause beats the wrapper; a message text beats an error class name."""
    assert classify("SessionError: No matching sessions found for message: Bad MAC") is C.BAD_MAC
    assert classify("PreKeyError: Invalid PreKey ID") is C.PREKEY
    assert classify("SessionError: No session record") is C.NO_SESSION
    assert classify("failed to decrypt message: Over 2000 messages into the future!") is C.FUTURE


def test_exceptions_are_read_by_class_name_and_message() -> None:
    """An exception's class name counts, so libsignal's empty-message identity error is recognised."""

    class UntrustedIdentityKeyError(Exception):
        pass

    class SessionError(Exception):
        pass

    assert classify(UntrustedIdentityKeyError()) is C.IDENTITY
    assert classify(SessionError("something new")) is C.DECRYPT_FAILED
    assert classify(ValueError("bad input")) is C.NOT_CRYPTO


def test_exception_cause_is_read() -> None:
    """A wrapped exception is classified by its cause when the cause says more."""
    outer = RuntimeError("decrypt failed")
    outer.__cause__ = ValueError("Bad MAC")
    assert classify(outer) is C.BAD_MAC


def test_type_and_message_pair() -> None:
    """A (type, message) pair is classified from both parts."""
    assert classify(("MessageCounterError", "Key used already or never filled")) is C.DUPLICATE
    assert classify(("PreKeyError", "")) is C.PREKEY


def test_baileys_ciphertext_stubs() -> None:
    """A CIPHERTEXT stub is a crypto failure even with no detail; its parameters refine it."""
    assert classify(CiphertextStub()) is C.DECRYPT_FAILED
    assert classify(CiphertextStub(("Bad MAC",))) is C.BAD_MAC
    assert classify({"messageStubType": "CIPHERTEXT", "messageStubParameters": []}) is C.DECRYPT_FAILED
    assert classify({"messageStubType": 2, "messageStubParameters": ["Invalid PreKey ID"]}) is C.PREKEY
    assert classify({"messageStubType": 2, "messageStubParameters": []}) is C.DECRYPT_FAILED


def test_stub_type_one_is_revoke_not_ciphertext() -> None:
    """Baileys WAProto.proto (StubType: REVOKE = 1, CIPHERTEXT = 2): a deleted message is not a decryption failure."""
    assert classify({"messageStubType": 1, "messageStubParameters": []}) is C.NOT_CRYPTO
    assert classify({"messageStubType": "1", "messageStubParameters": ["unknown text"]}) is C.NOT_CRYPTO
    assert classify({"messageStubType": 2, "messageStubParameters": ["unknown text"]}) is C.DECRYPT_FAILED


def test_non_crypto_passes_through() -> None:
    """Errors that are not Signal failures are not crypto."""
    for text in ("Connection Closed", "ECONNRESET", "timed out", ""):
        assert classify(text) is C.NOT_CRYPTO


def test_unsupported_input_is_a_clear_error() -> None:
    """Passing something unclassifiable names what was passed."""
    with pytest.raises(TypeError, match="int"):
        classify(42)  # type: ignore[arg-type]


@given(prefix=st.text(max_size=30), rule=st.sampled_from(TEXT_RULES), suffix=st.text(max_size=30))
def test_a_known_text_anywhere_is_never_lost(prefix: str, rule: tuple[str, Category, int], suffix: str) -> None:
    """Whatever surrounds a known Signal text (and no exclusion), the result is crypto, as specific as that text."""
    text, category, rank = rule
    around = (prefix + text + suffix).casefold()
    assume(category.is_crypto and not any(not r[1].is_crypto and r[0].casefold() in around for r in TEXT_RULES))
    result = classify(prefix + text + suffix)
    assert result.is_crypto
    leaf_ranks = (3, 4)  # a MAC leaf, another leaf
    if rank in leaf_ranks and not any(
        r[2] in leaf_ranks and r[0].casefold() in (prefix + suffix).casefold() for r in TEXT_RULES
    ):
        # with no other leaf text around it, a leaf decides on its own
        assert result is category


# (library the text comes from, text, category): each verified in that library's source.
LIBRARY_TEXTS = [
    ("go.mau.fi/libsignal signalerror ErrNoSessionForUser", "failed to decrypt normal message: no session found for user 5511900000001.0", C.NO_SESSION),
    ("go.mau.fi/libsignal ErrNoSenderKeyForUser, wrapped by whatsmeow", "failed to decrypt group message: no sender key for 5511900000001.0 in 123@g.us", C.NO_SESSION),
    ("go.mau.fi/libsignal signalerror ErrNoSenderKeyStateForID", "failed to decrypt group message: no sender key state for key ID", C.NO_SESSION),
    ("go.mau.fi/libsignal signalerror ErrNoOneTimeKeyFound", "failed to decrypt prekey message: prekey store didn't return one-time key", C.PREKEY),
    ("whatsmeow errors.go ErrNoSession", "can't encrypt message for device: no signal session established", C.NO_SESSION),
    ("whatsmeow types/events/events.go", "*events.UndecryptableMessage", C.DECRYPT_FAILED),
    ("go.mau.fi/libsignal signalerror ErrBadMAC", "failed to decrypt normal message: mismatching MAC in signal message", C.BAD_MAC),
    ("go.mau.fi/libsignal signalerror ErrOldCounter", "received message with old counter", C.DUPLICATE),
    ("libsignal-node src/session_cipher.js:71 (encrypt side)", "SessionError: No sessions", C.NO_SESSION),
    ("libsignal-node src/session_cipher.js:75 (encrypt side)", "SessionError: No open session", C.NO_SESSION),
    ("Chat-API / python-axolotl prekey store", "No such prekey with id 42", C.PREKEY),
    ("python-axolotl / libsignal-protocol-java signed prekey store", "No such signedprekeyrecord! 1", C.PREKEY),
    ("issue 16 (operators' logs)", "no suitable session found", C.SESSION_MISMATCH),
]  # fmt: skip


@pytest.mark.parametrize(("library", "text", "category"), LIBRARY_TEXTS, ids=[row[0] for row in LIBRARY_TEXTS])
def test_library_texts(library: str, text: str, category: C) -> None:
    """Each library's own failure text is classified as that failure (the id names the library)."""
    assert classify(text) is category, library


FALSE_FRIENDS = [
    ("Matrix (mautrix bridges)", "failed to decrypt megolm event: no session with given ID found"),
    ("whatsmeow mediaretry.go", "Failed to decrypt media retry notification: failed to decrypt notification: cipher: message authentication failed"),
    ("whatsmeow handshake.go (noise transport)", "failed to decrypt server static ciphertext: cipher: message authentication failed"),
    ("noise handshake bad mac", "noise handshake failed: Bad MAC"),
    ("OpenSSL via Baileys media download", "error:1C800064:Provider routines::bad decrypt"),
    ("whatsmeow download.go", "failed to decrypt file: bad decrypt"),
]  # fmt: skip


@pytest.mark.parametrize(("library", "text"), FALSE_FRIENDS, ids=[row[0] for row in FALSE_FRIENDS])
def test_false_friends_are_not_crypto(library: str, text: str) -> None:
    """A decryption outside the Signal layer is not a Signal failure, even when the caller says it is."""
    assert classify(text) is C.NOT_CRYPTO, library
    assert classify_texts([text], signal_layer=True) is C.NOT_CRYPTO, library


def test_wrapper_over_one_cause_takes_the_cause() -> None:
    """libsignal-node's wrapper (No matching sessions) over one logged cause is that cause's category."""
    wrapper = "No matching sessions found for message"
    assert classify_texts([wrapper, "Error: Bad MAC"]) is C.BAD_MAC
    assert classify_texts([wrapper, "MessageCounterError: Key used already or never filled"]) is C.DUPLICATE
    assert classify_texts([wrapper]) is C.SESSION_MISMATCH


def test_mixed_causes_a_mac_failure_counts_least() -> None:
    """Mixed causes: a closed session always fails its MAC, so any other leaf cause in any session wins."""
    wrapper = "No matching sessions found for message"
    for causes in (["Error: Bad MAC", "SessionError: Chain closed"], ["SessionError: Chain closed", "Error: Bad MAC"]):
        assert classify_texts([wrapper, *causes]) is C.SESSION_MISMATCH
    counter = "MessageCounterError: Key used already or never filled"
    assert classify_texts([wrapper, "Error: Bad MAC length", counter]) is C.DUPLICATE
    assert classify_texts([wrapper, "Error: Bad MAC", "Error: Bad MAC"]) is C.BAD_MAC
    assert classify_texts([wrapper, "Error: Bad MAC", "SessionError: Over 2000 messages into the future!"]) is C.FUTURE
