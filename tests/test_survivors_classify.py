"""classify's survivors: what each form of failure is classified as, and what describe() records for it."""

from __future__ import annotations

import pytest

from sessionmgr import Category, CiphertextStub, classify
from sessionmgr.classify import Description, describe

C = Category


class NamedError(Exception):
    """An error carrying libsignal-node's JavaScript class name in ``name``, as the harness's errors do."""

    name = "PreKeyError"


class Plain(Exception):
    """An error with no ``name`` attribute."""


def test_describe_a_string() -> None:
    """A string is its own text, with no error type."""
    assert describe("Bad MAC") == Description(C.BAD_MAC, "Bad MAC", None)


def test_describe_an_exception_uses_its_js_name_then_its_class() -> None:
    """An exception's error type is its ``name`` (libsignal's class name) if it has one, else its Python class."""
    assert describe(NamedError("")) == Description(C.PREKEY, "", "PreKeyError")
    assert describe(Plain("Bad MAC")) == Description(C.BAD_MAC, "Bad MAC", "Plain")


def test_an_exceptions_name_attribute_is_read_for_the_category() -> None:
    """An exception with an empty message is classified by its ``name`` (PreKeyError -> prekey)."""
    assert classify(NamedError("")) is C.PREKEY


def test_an_exceptions_own_text_is_kept_alongside_its_cause() -> None:
    """An error with a cause is classified from both: its own 'Bad MAC' counts even when the cause says nothing."""
    error = Plain("Bad MAC")
    error.__cause__ = ValueError("socket closed")
    assert classify(error) is C.BAD_MAC
    assert describe(error) == Description(C.BAD_MAC, "Bad MAC", "Plain")


def test_equally_specific_texts_go_to_the_first_seen() -> None:
    """Two equally specific texts (same rank, same length): the one read first decides."""
    assert len("No sessions") == len("old counter")
    assert classify(("No sessions", "old counter")) is C.NO_SESSION  # (type, message): the type is read first
    assert classify(("old counter", "No sessions")) is C.DUPLICATE


def test_describe_a_type_and_message_pair() -> None:
    """A (type, message) pair records the message as text and the type as error type."""
    assert describe(("SessionError", "Bad MAC")) == Description(C.BAD_MAC, "Bad MAC", "SessionError")


def test_describe_a_ciphertext_stub() -> None:
    """A CIPHERTEXT stub records its parameters joined by '; ' (or 'CIPHERTEXT' if none) and type 'CIPHERTEXT'."""
    assert describe(CiphertextStub(("Bad MAC", "retry 2"))) == Description(C.BAD_MAC, "Bad MAC; retry 2", "CIPHERTEXT")
    assert describe(CiphertextStub(())) == Description(C.DECRYPT_FAILED, "CIPHERTEXT", "CIPHERTEXT")


def test_describe_a_stub_mapping() -> None:
    """A stub mapping records its parameters joined by '; ' and type 'CIPHERTEXT'."""
    stub = {"messageStubType": 2, "messageStubParameters": ["Invalid PreKey ID", "x"]}
    assert describe(stub) == Description(C.PREKEY, "Invalid PreKey ID; x", "CIPHERTEXT")
    assert describe({"messageStubType": 2}) == Description(C.DECRYPT_FAILED, "CIPHERTEXT", "CIPHERTEXT")


@pytest.mark.parametrize(
    ("key", "text", "category"),
    [
        ("type", "PreKeyError", C.PREKEY),
        ("name", "UntrustedIdentityKeyError", C.IDENTITY),
        ("message", "Bad MAC", C.BAD_MAC),
        ("error", "No session record", C.NO_SESSION),
    ],
)
def test_a_mapping_is_classified_by_its_type_name_message_and_error(key: str, text: str, category: Category) -> None:
    """A mapping without a stub is classified from its 'type', 'name', 'message' or 'error' string."""
    assert classify({key: text}) is category
    assert classify({key: 5}) is C.NOT_CRYPTO  # only strings are read


def test_each_stub_parameter_is_read_as_itself() -> None:
    """A parameter is read as its own text, not inside a list's repr (where quotes would be escaped)."""
    text = 'failed: "prekey store didn\'t return one-time key"'
    assert classify({"messageStubType": 2, "messageStubParameters": [text]}) is C.PREKEY


@pytest.mark.parametrize("size", [10, 1_030, 5_000])
def test_long_texts_are_classified_like_short_ones(size: int) -> None:
    """However long the texts (short ones are remembered, long ones not), the category is the same."""
    filler = "x" * size
    assert classify(filler + " Bad MAC") is C.BAD_MAC
    assert classify(CiphertextStub((filler,))) is C.DECRYPT_FAILED  # a stub is the Signal layer, even unexplained
    assert classify(filler) is C.NOT_CRYPTO
    assert classify(("SessionError", filler + " Invalid PreKey ID")) is C.PREKEY
