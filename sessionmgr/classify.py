"""Classification of decryption failures: one table, most specific match wins."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from sessionmgr.categories import Category

__all__ = ["CiphertextStub", "Classifiable", "Description", "classify", "classify_texts", "describe"]

C = Category

# Rank says how much a text tells: a leaf cause (the MAC check itself) beats the
# wrapper libsignal-node puts around it on the msg path, which beats a bare error
# class name, which beats a generic "failed to decrypt". Ties go to the longer text.
_LEAF, _WRAPPER, _TYPE, _GENERIC = 3, 2, 1, 0

#: (text, category, rank). Texts are matched case-insensitively as substrings.
TEXT_RULES: Final[tuple[tuple[str, Category, int], ...]] = (
    # bad_mac: libsignal-node, libsignal-protocol-javascript, whatsmeow, Rust libsignal
    ("Bad MAC", C.BAD_MAC, _LEAF),
    ("Bad MAC length", C.BAD_MAC, _LEAF),
    ("Bad Mac!", C.BAD_MAC, _LEAF),
    ("mismatching MAC in signal message", C.BAD_MAC, _LEAF),
    ("MAC verification failed", C.BAD_MAC, _LEAF),
    ("InvalidMacException", C.BAD_MAC, _TYPE),
    # session_mismatch: what the msg path says when every stored session failed
    ("No matching sessions found for message", C.SESSION_MISMATCH, _WRAPPER),
    ("Chain closed", C.SESSION_MISMATCH, _LEAF),
    ("No valid sessions", C.SESSION_MISMATCH, _WRAPPER),
    # no_session
    ("No session record", C.NO_SESSION, _LEAF),
    ("No sessions available", C.NO_SESSION, _LEAF),
    ("No session found to decrypt message", C.NO_SESSION, _LEAF),
    ("No SenderKeyRecord found for decryption", C.NO_SESSION, _LEAF),
    ("No session for:", C.NO_SESSION, _LEAF),
    ("NoSessionException", C.NO_SESSION, _TYPE),
    # prekey
    ("Invalid PreKey ID", C.PREKEY, _LEAF),
    ("Missing SignedPreKey", C.PREKEY, _LEAF),
    ("PreKeyError", C.PREKEY, _TYPE),
    ("InvalidKeyIdException", C.PREKEY, _TYPE),
    ("InvalidKeyIDException", C.PREKEY, _TYPE),
    # unavailable: the server has no payload; Baileys src/Utils/decode-wa-message.ts (~378-382)
    ("Message absent from node", C.UNAVAILABLE, _LEAF),
    # duplicate: a frame delivered twice
    ("Key used already or never filled", C.DUPLICATE, _LEAF),
    ("Message key not found. The counter was repeated", C.DUPLICATE, _LEAF),
    ("Received message with old counter", C.DUPLICATE, _LEAF),
    ("old counter", C.DUPLICATE, _LEAF),
    ("MessageCounterError", C.DUPLICATE, _TYPE),
    ("DuplicateMessageException", C.DUPLICATE, _TYPE),
    # future
    ("Over 2000 messages into the future!", C.FUTURE, _LEAF),
    ("message index is over 2000 messages into the future", C.FUTURE, _LEAF),
    ("message from too far into the future", C.FUTURE, _LEAF),
    # identity
    ("UntrustedIdentityKeyError", C.IDENTITY, _TYPE),
    ("UntrustedIdentityException", C.IDENTITY, _TYPE),
    ("untrusted identity", C.IDENTITY, _LEAF),
    # decrypt_failed: the Signal layer failed and did not say why
    ("failed to decrypt message", C.DECRYPT_FAILED, _GENERIC),
    ("Failed to decrypt", C.DECRYPT_FAILED, _GENERIC),
    ("SessionError", C.DECRYPT_FAILED, _GENERIC),
    ("SignalError", C.DECRYPT_FAILED, _GENERIC),
    ("InvalidMessageException", C.DECRYPT_FAILED, _GENERIC),
    ("CIPHERTEXT", C.DECRYPT_FAILED, _GENERIC),
)

# One alternation over every text, longest first, inside a lookahead so that
# overlapping hits ("old counter" within a longer text) are all seen in one pass.
_PATTERN: Final = re.compile(
    "(?=(" + "|".join(re.escape(text) for text, _, _ in sorted(TEXT_RULES, key=lambda r: -len(r[0]))) + "))",
    re.IGNORECASE,
)
_BY_TEXT: Final[dict[str, tuple[Category, int, int]]] = {
    text.casefold(): (category, rank, len(text)) for text, category, rank in TEXT_RULES
}

#: Baileys' WAMessageStubType.CIPHERTEXT, as a number and as a name.
_CIPHERTEXT_STUB: Final = frozenset({1, "1", "CIPHERTEXT"})


@dataclass(frozen=True, slots=True)
class CiphertextStub:
    """A Baileys message that arrived undecryptable (``messageStubType == CIPHERTEXT``)."""

    parameters: tuple[str, ...] = ()


Classifiable: TypeAlias = str | BaseException | tuple[str, str] | CiphertextStub | Mapping[str, object]


def _best(texts: Sequence[str]) -> tuple[Category, int, int] | None:
    best: tuple[Category, int, int] | None = None
    for text in texts:
        for match in _PATTERN.finditer(text):
            hit = _BY_TEXT[match.group(1).casefold()]
            if best is None or hit[1:] > best[1:]:
                best = hit
    return best


def classify_texts(texts: Sequence[str], *, signal_layer: bool = False) -> Category:
    """Classify several texts describing one failure (an error and its causes).

    ``signal_layer`` says the failure is known to come from the Signal layer, so
    an unrecognised text is ``decrypt_failed`` rather than ``not_crypto``.
    """
    best = _best([t for t in texts if t])
    if best is not None:
        return best[0]
    return Category.DECRYPT_FAILED if signal_layer else Category.NOT_CRYPTO


def _texts_of_exception(error: BaseException) -> list[str]:
    texts = [type(error).__name__, str(error), getattr(error, "name", "") or ""]
    cause = error.__cause__ or error.__context__
    if cause is not None and cause is not error:
        texts += _texts_of_exception(cause)
    return [t for t in texts if isinstance(t, str)]


def _texts_of_mapping(stub: Mapping[str, object]) -> tuple[list[str], bool]:
    params = stub.get("messageStubParameters") or stub.get("parameters") or ()
    texts = [str(p) for p in params] if isinstance(params, Sequence) else [str(params)]
    is_stub = stub.get("messageStubType") in _CIPHERTEXT_STUB
    for key in ("type", "name", "message", "error"):
        value = stub.get(key)
        if isinstance(value, str):
            texts.append(value)
    return texts, is_stub


def classify(error: Classifiable) -> Category:
    """Return the category of a decryption failure.

    Accepts a raw string, an exception (its class name, message and cause are
    read), a ``(type, message)`` pair, a :class:`CiphertextStub`, or a Baileys
    message/stub mapping with ``messageStubType`` and ``messageStubParameters``.
    Matching is case-insensitive and the most specific text wins; anything that
    is not a Signal-layer failure is :attr:`Category.NOT_CRYPTO`.
    """
    return describe(error).category


@dataclass(frozen=True, slots=True)
class Description:
    """A failure as an observation records it: its category, text and error type."""

    category: Category
    text: str
    error_type: str | None


def _stub_text(params: object) -> str:
    texts = [str(p) for p in params] if isinstance(params, list | tuple) else [str(params)]
    return "; ".join(texts) or "CIPHERTEXT"


def describe(error: Classifiable) -> Description:
    """:func:`classify` and the (text, error type) an observation records, from one reading of ``error``."""
    if isinstance(error, str):
        return Description(classify_texts([error]), error, None)
    if isinstance(error, BaseException):
        error_type = getattr(error, "name", None) or type(error).__name__
        return Description(classify_texts(_texts_of_exception(error)), str(error), error_type)
    if isinstance(error, CiphertextStub):
        # a CIPHERTEXT stub is a Signal-layer failure even when it says nothing
        category = classify_texts(list(error.parameters), signal_layer=True)
        return Description(category, _stub_text(error.parameters), "CIPHERTEXT")
    if isinstance(error, tuple):
        return Description(classify_texts(list(error)), error[1], error[0])
    if isinstance(error, Mapping):
        texts, is_stub = _texts_of_mapping(error)
        text = _stub_text(error.get("messageStubParameters") or ())
        return Description(classify_texts(texts, signal_layer=is_stub), text, "CIPHERTEXT")
    raise TypeError(f"cannot classify {type(error).__name__!r}; pass a str, an exception or a stub")
