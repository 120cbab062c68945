"""whatsmeow and the Go loggers around it: what a line says, before it becomes an event.

- whatsmeow's own stdout logger (tulir/whatsmeow util/log/log.go:65):
  ``15:04:05.000 [Client WARN] msg`` (the time is left out by some wrappers).
- zerolog's ConsoleWriter (rs/zerolog console.go: time.Kitchen by default, then a
  three-letter level, the message and ``key=value`` fields) and its JSON writer
  (``{"level":"warn","time":...,"message":...}``), which mautrix bridges and WAHA's
  GOWS engine use through whatsmeow util/log/zerolog.go.
- go-libsignal's default logger (RadicalApp/libsignal-protocol-go logger/DefaultLogger.go):
  ``[ERROR] 2006-01-02T15:04:05Z07:00 caller ▶  msg``.

The failure line is whatsmeow message.go:410 (``Error decrypting message %s from %s: %v``;
before commit 6110de34 without the id), where the source is ``sender in chat``
(types/message.go SourceString).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import DecryptError

__all__ = [
    "GoLine", "WhatsmeowFailure", "dump_event", "parse_go_line", "parse_whatsmeow_failure", "undecryptable_dump",
    "whatsmeow_event",
]  # fmt: skip

_STDOUT: Final = re.compile(
    r"^(?:(?P<time>\d\d:\d\d:\d\d\.\d{3}) )?\[(?P<module>[^\]]{1,80}) (?P<level>DEBUG|INFO|WARN|ERROR)\] (?P<msg>.*)$"
)
_ZEROLOG: Final = re.compile(
    r"^(?:(?P<time>\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?:AM|PM)?|\d{4}-\d\d-\d\dT\S+) )?"
    r"(?P<level>TRC|DBG|INF|WRN|ERR|FTL|PNC) (?P<msg>.*)$"
)
_ZEROLOG_FIELDS: Final = re.compile(r"(?:\s+[\w.-]+=(?:\"(?:[^\"\\]|\\.)*\"|\S+))+$")
_GO_LIBSIGNAL: Final = re.compile(
    r"^\[(?P<level>DEBUG|INFO|WARNING|ERROR)\] (?P<time>\S+) (?P<caller>\S+) ▶ +(?P<msg>.*)$"
)
_FAILURE: Final = re.compile(
    r"Error decrypting message (?:(?P<id>[^\s:]+) )?from (?P<sender>[^\s:]+)(?: in (?P<chat>[^\s:]+))?: (?P<error>.+)$"
)
_DUMP_ID: Final = re.compile(r"\bID:(?P<id>[^\s}]+)")
_DUMP_SENDER: Final = re.compile(r"\bSender:(?P<sender>[^\s}]+)")
#: the message type each of whatsmeow's decrypt wrappers names (message.go:601, :612, :640)
_MESSAGE_TYPES: Final = (
    ("failed to decrypt prekey message", "pkmsg"),
    ("failed to decrypt normal message", "msg"),
    ("failed to decrypt group message", "skmsg"),
)


@dataclass(frozen=True, slots=True)
class GoLine:
    """One line of a Go logger: which one, its time text (or None), level and message."""

    source: str
    time: str | None
    level: str
    msg: str


@dataclass(frozen=True, slots=True)
class WhatsmeowFailure:
    """What whatsmeow's "Error decrypting message" line says."""

    message_id: str | None
    sender: str
    error: str
    message_type: str | None


def parse_go_line(text: str) -> GoLine | None:
    """The line as whatsmeow's, zerolog's console or go-libsignal's output, or ``None``."""
    first = text[:1]
    if first == "[":
        match = _STDOUT.match(text)
        if match is not None:
            return GoLine("whatsmeow", match["time"], match["level"], match["msg"])
        match = _GO_LIBSIGNAL.match(text)
        if match is not None:
            return GoLine("go-libsignal", match["time"], match["level"], match["msg"])
        return None
    if first.isdigit() or first in "TDIWEFP":
        match = _STDOUT.match(text)
        if match is not None:
            return GoLine("whatsmeow", match["time"], match["level"], match["msg"])
        match = _ZEROLOG.match(text)
        if match is not None:
            msg = _ZEROLOG_FIELDS.sub("", match["msg"])
            return GoLine("zerolog", match["time"], match["level"], msg)
    return None


def parse_whatsmeow_failure(msg: str) -> WhatsmeowFailure | None:
    """whatsmeow's decrypt-failure message, or ``None`` for any other message."""
    if "Error decrypting message" not in msg:
        return None
    match = _FAILURE.search(msg)
    if match is None:
        return None
    error = match["error"]
    message_type = next((kind for text, kind in _MESSAGE_TYPES if text in error), None)
    return WhatsmeowFailure(match["id"], match["sender"], error, message_type)


def undecryptable_dump(text: str) -> tuple[str | None, str | None] | None:
    """(message id, sender) of a printed ``*events.UndecryptableMessage``, or ``None`` if the line is not one."""
    if "UndecryptableMessage" not in text or "Info:{" not in text:
        return None  # a %+v print of the event (&{Info:{...} ...}), not a mere mention of its name
    message_id = _DUMP_ID.search(text)
    sender = _DUMP_SENDER.search(text)
    return (message_id["id"] if message_id else None, sender["sender"] if sender else None)


def whatsmeow_event(failure: WhatsmeowFailure, causes: list[str], session: str, at: datetime) -> DecryptError | None:
    """whatsmeow's failure line as an event (go-libsignal's lines before it as causes); ``None`` if not Signal's."""
    category = classify_texts([failure.error, *causes], signal_layer=True)
    if not category.is_crypto:
        return None
    return DecryptError(
        session=session, at=at, peer=failure.sender, error=failure.error, message_type=failure.message_type,
        message_id=failure.message_id, causes=tuple(causes), category=category,
    )  # fmt: skip


def dump_event(message_id: str | None, sender: str | None, session: str, at: datetime) -> DecryptError:
    """A printed ``*events.UndecryptableMessage`` with no whatsmeow failure line before it."""
    return DecryptError(
        session=session, at=at, peer=sender, error="UndecryptableMessage", message_id=message_id,
        category=classify_texts(["UndecryptableMessage"], signal_layer=True),
    )  # fmt: skip
