"""Classification of decryption failures: one table, most specific match wins."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, TypeAlias

from sessionmgr.categories import Category

__all__ = ["CiphertextStub", "Classifiable", "Description", "classify", "classify_texts", "describe"]

C = Category

# Rank says how much a text tells. A leaf cause beats the wrapper libsignal-node
# puts around it on the msg path, which beats a bare error class name, which
# beats a generic "failed to decrypt". Ties go to the longer text.
#
# Mixed causes: libsignal-node's decryptWithSessions tries every stored session
# and prints one "Session error:" per session that failed
# (WhiskeySockets/libsignal-node src/session_cipher.js:143-161). A closed or stale
# session always fails its MAC check, so among several leaf causes a MAC failure
# counts least: a counter problem, a closed chain or a missing key in any session
# is the cause. Among the other leaves the longer (more specific) text wins.
# Texts that name a decryption outside the Signal layer (media, app state, the
# noise transport, Matrix) are exclusions: they win over everything, so their
# "failed to decrypt" or "bad mac" never counts as a Signal failure.
_EXCLUDE, _LEAF, _MAC, _WRAPPER, _TYPE, _GENERIC = 5, 4, 3, 2, 1, 0

#: (text, category, rank). Texts are matched case-insensitively as substrings.
TEXT_RULES: Final[tuple[tuple[str, Category, int], ...]] = (
    # bad_mac: libsignal-node src/crypto.js:84-87, libsignal-protocol-javascript,
    # go.mau.fi/libsignal signalerror ErrBadMAC, Rust libsignal
    ("Bad MAC", C.BAD_MAC, _MAC),
    ("Bad MAC length", C.BAD_MAC, _MAC),
    ("Bad Mac!", C.BAD_MAC, _MAC),
    ("mismatching MAC in signal message", C.BAD_MAC, _MAC),
    ("MAC verification failed", C.BAD_MAC, _MAC),
    ("InvalidMacException", C.BAD_MAC, _TYPE),
    # session_mismatch: what the msg path says when every stored session failed
    ("No matching sessions found for message", C.SESSION_MISMATCH, _WRAPPER),
    ("Chain closed", C.SESSION_MISMATCH, _LEAF),
    ("No valid sessions", C.SESSION_MISMATCH, _WRAPPER),
    # named in issue 16 as seen in operators' logs; its library was not found in the searched sources
    ("no suitable session found", C.SESSION_MISMATCH, _WRAPPER),
    # no_session
    ("No session record", C.NO_SESSION, _LEAF),
    ("No sessions available", C.NO_SESSION, _LEAF),
    ("No session found to decrypt message", C.NO_SESSION, _LEAF),
    ("No SenderKeyRecord found for decryption", C.NO_SESSION, _LEAF),
    ("No session for:", C.NO_SESSION, _LEAF),
    ("NoSessionException", C.NO_SESSION, _TYPE),
    # libsignal-node's encrypt side: src/session_cipher.js:71 ("No sessions"), :75 ("No open session")
    ("No sessions", C.NO_SESSION, _LEAF),
    ("No open session", C.NO_SESSION, _LEAF),
    # go.mau.fi/libsignal signalerror/errors.go: ErrNoSessionForUser, ErrNoSenderKeyForUser ("no sender key",
    # wrapped as "no sender key for ..."), ErrNoSenderKeyStateForID, ErrNoSenderKeyStatesInRecord
    ("no session found for user", C.NO_SESSION, _LEAF),
    ("no sender key for", C.NO_SESSION, _LEAF),
    ("no sender key state for key ID", C.NO_SESSION, _LEAF),
    ("no sender key states in record", C.NO_SESSION, _LEAF),
    # whatsmeow errors.go:20, ErrNoSession (the encrypt side)
    ("no signal session established", C.NO_SESSION, _LEAF),
    # prekey
    ("Invalid PreKey ID", C.PREKEY, _LEAF),
    ("Missing SignedPreKey", C.PREKEY, _LEAF),
    ("PreKeyError", C.PREKEY, _TYPE),
    ("InvalidKeyIdException", C.PREKEY, _TYPE),
    ("InvalidKeyIDException", C.PREKEY, _TYPE),
    # go.mau.fi/libsignal signalerror/errors.go: ErrNoOneTimeKeyFound
    ("prekey store didn't return one-time key", C.PREKEY, _LEAF),
    # Chat-API / python-axolotl (yowsup) and libsignal-protocol-java's example stores
    ("No such prekey with id", C.PREKEY, _LEAF),
    ("No such signedprekey", C.PREKEY, _LEAF),
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
    # whatsmeow types/events/events.go:290: the event it dispatches for a message that failed to decrypt
    ("UndecryptableMessage", C.DECRYPT_FAILED, _GENERIC),
    # not the Signal layer (exclusions, see above)
    ("failed to decrypt megolm event", C.NOT_CRYPTO, _EXCLUDE),  # Matrix (mautrix bridges' other side)
    ("megolm", C.NOT_CRYPTO, _EXCLUDE),
    ("Failed to decrypt media retry notification", C.NOT_CRYPTO, _EXCLUDE),  # whatsmeow mediaretry.go:131
    ("media retry", C.NOT_CRYPTO, _EXCLUDE),
    ("bad decrypt", C.NOT_CRYPTO, _EXCLUDE),  # OpenSSL's EVP_DecryptFinal_ex: media download
    ("failed to decrypt file", C.NOT_CRYPTO, _EXCLUDE),  # whatsmeow download.go:309
    ("failed to decrypt mutation", C.NOT_CRYPTO, _EXCLUDE),  # whatsmeow appstate/decode.go:161
    ("Failed to decrypt frame", C.NOT_CRYPTO, _EXCLUDE),  # whatsmeow socket/noisesocket.go:116 (transport)
    # the noise transport's own MAC/AEAD failures: whatsmeow handshake.go:74,85; Baileys src/Utils/noise-handler.ts
    ("server static ciphertext", C.NOT_CRYPTO, _EXCLUDE),
    ("noise certificate", C.NOT_CRYPTO, _EXCLUDE),
    ("noise handshake", C.NOT_CRYPTO, _EXCLUDE),
    ("noise-handler", C.NOT_CRYPTO, _EXCLUDE),
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

#: Distinct (texts, signal_layer) keys :func:`classify_texts` remembers, least recently used first out.
MEMO_SIZE: Final = 4096
#: Keys longer than this (all texts together, in characters) are classified afresh, never remembered.
MEMO_TEXT_LIMIT: Final = 1024

#: Baileys' WAMessageStubType.CIPHERTEXT, as a number and as a name: 2 (1 is REVOKE, a deleted
#: message). Baileys WAProto/WAProto.proto:5249-5251 (``UNKNOWN = 0; REVOKE = 1; CIPHERTEXT = 2;``).
_CIPHERTEXT_STUB: Final = frozenset({2, "2", "CIPHERTEXT"})


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
    key = tuple(filter(None, texts))  # the non-empty texts, in order
    if sum(map(len, key)) > MEMO_TEXT_LIMIT:
        return _classify(key, signal_layer)
    return _memoised(key, signal_layer)


def _classify(texts: tuple[str, ...], signal_layer: bool) -> Category:
    best = _best(texts)
    if best is not None:
        return best[0]
    return Category.DECRYPT_FAILED if signal_layer else Category.NOT_CRYPTO


# A storm repeats a handful of texts thousands of times, and the regex pass is most of a replay's
# cost (issue 13 measured -51 % with this). The key is exactly what classification reads (the
# non-empty texts, in order, and the flag); the result is a Category member, so a hit returns the
# same object a fresh classification would. Bounded twice: by entries, and by skipping long texts
# (a hostile log cannot fill memory through the cache: at most MEMO_SIZE * MEMO_TEXT_LIMIT chars).
_memoised: Final = lru_cache(maxsize=MEMO_SIZE)(_classify)


def _texts_of_exception(error: BaseException) -> list[str]:
    texts = [type(error).__name__, str(error), getattr(error, "name", "") or ""]
    cause = error.__cause__ or error.__context__
    if cause is not None and cause is not error:
        texts += _texts_of_exception(cause)
    return [t for t in texts if isinstance(t, str)]


def _texts_of_mapping(stub: Mapping[str, object]) -> tuple[list[str], bool]:
    params = stub.get("messageStubParameters") or stub.get("parameters") or ()
    # a string is one text: iterating it would classify its letters (Baileys may log a lone parameter bare)
    texts = [str(p) for p in params] if isinstance(params, Sequence) and not isinstance(params, str) else [str(params)]
    stub_type = stub.get("messageStubType")
    is_stub = isinstance(stub_type, int | str) and stub_type in _CIPHERTEXT_STUB  # a list or dict is no stub type
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
