"""A one-line pino record decoded straight into the fields Baileys' reader reads, and the event it tells of.

``fastpath`` reads a storm's records with this: msgspec decodes a line into
:class:`PinoLine` (the fields ``baileys.pino_event`` reads; the rest skipped, not
built), about a fifth faster than into a dict, and attributes read faster than
``dict.get``. It stands in for ``safejson.loads`` then ``pino_event`` only where the
outcome is exactly theirs; anything else is ``None`` and the general path reads the
line:

- msgspec refuses the line or a field's type (``msg`` not text, ``time`` not an
  integer, ``key`` not an object): the general path decides, as for any line;
- a line over :data:`MAX_TYPED_CHARS`: msgspec skips an unknown field's number of
  any length, where the standard library refuses one of over 4,300 digits;
- an ``err`` object with none of the fields read (``{}`` is falsy there, ``{"stack": ...}`` not);
- a logged message (``messageStubType``), older Baileys' ``failure in decrypting
  message`` without an ``err`` (its text is in ``trace``), a session named by a field.

A field absent is ``UNSET`` (falsy, as ``dict.get``'s ``None``); where absence and
``null`` differ (``peer``, ``err``) the function below maps it as ``dict.get`` would.
tests/test_pinoline.py proves it against ``safejson.loads`` + ``pino_event``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from msgspec import UNSET, UnsetType, field

from sessionmgr.events import ConnectionChanged, DecryptError, Event
from sessionmgr.trace.baileys import _DECRYPT_OK, _MESSAGE_TYPES, _category, _error_parts, _says
from sessionmgr.trace.baileys import _SAYS as SAYS
from sessionmgr.trace.codec import parse_time
from sessionmgr.trace.construct import positional

__all__ = ["MAX_TYPED_CHARS", "PinoLine", "decode_line", "is_failure", "line_event"]

#: Lines longer than this take the dict path (no number in a shorter one can pass the stdlib's 4,300-digit limit).
MAX_TYPED_CHARS: Final = 4000


class _Key(msgspec.Struct, gc=False):
    """A record's ``key`` (Baileys' WAMessageKey), the fields read."""

    participant: Any = UNSET
    remoteJid: Any = UNSET
    id: Any = UNSET


class _Err(msgspec.Struct, gc=False):
    """A record's ``err`` object (pino's serialised Error), the fields read; one with none of them is left to the dict
    path (an empty object is falsy there, one with other fields is not)."""

    message: Any = UNSET
    msg: Any = UNSET
    type: Any = UNSET
    name: Any = UNSET


class PinoLine(msgspec.Struct, gc=False):
    """The fields of a pino record ``pino_event`` reads (``trace``: only through the dict path)."""

    msg: str
    time: int
    err: _Err | str | UnsetType = UNSET
    error: Any = UNSET
    key: _Key | UnsetType = UNSET
    messageType: Any = UNSET
    type_: Any = field(name="type", default=UNSET)
    from_: Any = field(name="from", default=UNSET)
    jid: Any = UNSET
    params: Any = UNSET
    messageStubType: Any = UNSET


_DECODE: Final = msgspec.json.Decoder(PinoLine).decode
_ERROR: Final = positional(
    DecryptError, ("session", "at", "peer", "error", "error_type", "message_type", "message_id", "causes", "category")
)
_MS_LOW: Final = 100_000_000_000  # parse_time's 1e11: above it a time is epoch milliseconds
_MS_HIGH: Final = 10_000_000_000_000  # (the year 2286: always in range)
# Bound once, as in codec: under a replay's frozen wall clock (freezegun) the module's name
# ``datetime`` is freezegun's subclass, whose Python-level __new__ would run for every record.
_FROM_TIMESTAMP: Final = datetime.fromtimestamp


def decode_line(raw: str) -> PinoLine | None:
    """The record a ``{`` line is, when the general path would read it as a pino record; else None.

    The caller has checked what the general path checks before decoding (ANSI, the depth guard).
    """
    if len(raw) > MAX_TYPED_CHARS:
        return None
    try:
        line = _DECODE(raw)
    except ValueError:  # msgspec's errors: the general path reads the line and decides
        return None
    if line.messageStubType is not UNSET:
        return None
    err = line.err
    if type(err) is _Err and err.message is UNSET and err.msg is UNSET and err.type is UNSET and err.name is UNSET:
        return None
    if not line.err and not line.error and (SAYS.get(line.msg) or _says(line.msg)).old_failure:
        return None  # older Baileys' failure: its text is in ``trace`` or ``params``, read by the dict path
    return line


def is_failure(line: PinoLine) -> bool:
    """``logs._is_failure`` of the record."""
    return (
        "decrypt" in line.msg.lower()
        or (line.err is not UNSET and line.err is not None)
        or (line.error is not UNSET and line.error is not None)
    )


def line_event(line: PinoLine, causes: Sequence[str], session: str) -> Event | None:
    """``pino_event(record, causes, ctx)`` for the record and a context naming no session field.

    Raises ``TraceError`` where it does (a time out of range).
    """
    msg = line.msg
    err = line.err or line.error
    if err is UNSET:
        err = None  # (neither field, or a falsy err and no error: dict.get's None)
    says = SAYS.get(msg) or _says(msg)
    time = line.time
    # epoch ms as parse_time reads it (the same sum), without its type tests; any other time by parse_time
    at = _FROM_TIMESTAMP(time / 1000, UTC) if _MS_LOW < time < _MS_HIGH else parse_time(time)
    key = line.key
    peer = (key.participant or key.remoteJid) if key is not UNSET else UNSET
    peer = peer or line.from_ or line.jid
    if peer is UNSET:
        peer = None
    if peer is None:
        params = line.params
        if isinstance(params, list) and params and "@" in str(params[0]):
            peer = params[0]
    message_type = line.messageType or line.type_
    message_type = message_type if message_type in _MESSAGE_TYPES else None
    message_id = key.id if key is not UNSET else None
    if err is not None or says.failure:
        if type(err) is _Err:  # baileys._error_parts, on the fields
            message = err.message or err.msg or msg
            error_type = err.type or err.name
            error_text, error_type = str(message), str(error_type) if error_type else None
        else:
            error_text, error_type = _error_parts(err, msg)
        category, is_crypto = _category(error_text, error_type, causes, says.decrypt)
        if not is_crypto:
            return None
        return _ERROR(
            session, at, str(peer) if peer else None, error_text, error_type, message_type,
            str(message_id) if message_id else None, tuple(causes), category,
        )  # fmt: skip
    if says.decrypted:
        return _DECRYPT_OK(
            session=session, at=at, peer=str(peer) if peer else None, message_type=message_type,
            message_id=str(message_id) if message_id else None,
        )  # fmt: skip
    if says.connection_open is not None:
        return ConnectionChanged(session=session, at=at, open=says.connection_open)
    return None
