"""Classification: every text of the DESIGN table, in every form it arrives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionmgr import Category, CiphertextStub, classify
from sessionmgr.classify import TEXT_RULES

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
    assert classify({"messageStubType": 1, "messageStubParameters": ["Invalid PreKey ID"]}) is C.PREKEY
    assert classify({"messageStubType": 2, "messageStubParameters": []}) is C.NOT_CRYPTO


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
    """Whatever surrounds a known text, the result is a crypto category at least as specific as that text's."""
    text, category, rank = rule
    result = classify(prefix + text + suffix)
    assert result.is_crypto
    if rank == 3 and not any(r[2] == 3 and r[0].casefold() in (prefix + suffix).casefold() for r in TEXT_RULES):
        # with no other leaf text around it, a leaf decides on its own
        assert result is category
