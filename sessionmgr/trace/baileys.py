"""What Baileys' records say: a pino record (JSON or pretty) or a logged message with a CIPHERTEXT stub."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from sessionmgr.categories import Category
from sessionmgr.classify import classify, classify_texts
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event
from sessionmgr.trace.codec import TraceError, parse_time
from sessionmgr.trace.construct import builder
from sessionmgr.trace.lines import ReadContext

__all__ = ["inspect_stub", "pino_event", "stub_event", "stub_fields"]

_CONNECTION_TEXTS: Final = (
    ("opened connection to wa", True),
    ("connection open", True),
    ("connection closed", False),
    ("connection errored", False),
    ("stream errored out", False),
)
_DECRYPTED: Final = re.compile(r"\bdecrypted (message|msg)\b")
_MESSAGE_TYPES: Final = ("msg", "pkmsg", "skmsg")
_OLD_FAILURE: Final = "failure in decrypting message"
_INSPECT_STUB: Final = re.compile(r"\bmessageStubType: (\d+|'[A-Z_]+'|\"[A-Z_]+\")")
_INSPECT_PARAMS: Final = re.compile(r"\bmessageStubParameters: \[(.*?)\]", re.DOTALL)
_INSPECT_STRING: Final = re.compile(r"'((?:[^'\\]|\\.)*)'")
_INSPECT_FIELD: Final = {name: re.compile(rf"\b{name}: '([^']*)'") for name in ("participant", "remoteJid", "id")}
_INSPECT_STAMP: Final = re.compile(r"\bmessageTimestamp: (\d+)")
_DECRYPT_ERROR: Final = builder(DecryptError)
_DECRYPT_OK: Final = builder(DecryptOk)
_FROM_TIMESTAMP: Final = datetime.fromtimestamp


def pino_event(
    record: dict[str, Any], causes: Sequence[str], ctx: ReadContext, at: datetime | None = None
) -> Event | None:
    """The event one pino record tells of, or ``None`` for a log line that tells of none.

    ``at`` is the time when it was read elsewhere (a pino-pretty header); else the record's ``time``.
    What a ``msg`` says and how a failure's texts classify are remembered (:func:`_says`,
    :func:`_category`): a storm repeats a handful of each thousands of times.
    """
    msg = record.get("msg", "")
    if type(msg) is not str:
        msg = str(msg)
    err = record.get("err") or record.get("error")
    says = _SAYS.get(msg) or _says(msg)
    session = ctx.session if ctx.session_field is None else ctx.session_of(record)
    if at is None:
        if "time" not in record:
            if err is None and not says.decrypt and not says.connection:
                return None
            raise TraceError("time: missing")
        time = record["time"]
        if type(time) is int and 100_000_000_000 < time < 10_000_000_000_000:  # epoch ms: parse_time's own sum
            at = _FROM_TIMESTAMP(time / 1000, UTC)
        else:
            at = parse_time(time)
    if err is None and says.old_failure:
        # older Baileys: logger.error({ params, trace }, 'failure in decrypting message')
        err = _first_line(record.get("trace")) or " ".join(str(p) for p in record.get("params") or ()) or msg
    key = record.get("key")
    if type(key) is not dict:
        key = key if isinstance(key, dict) else {}
    peer = key.get("participant") or key.get("remoteJid") or record.get("from") or record.get("jid")
    if peer is None:
        params = record.get("params")
        if isinstance(params, list) and params and "@" in str(params[0]):
            peer = params[0]  # older Baileys: params = [jid, ...]
    message_type = record.get("messageType") or record.get("type")
    message_type = message_type if message_type in _MESSAGE_TYPES else None
    if err is not None or says.failure:
        error_text, error_type = _error_parts(err, msg)
        category, is_crypto = _category(error_text, error_type, causes, says.decrypt)
        if not is_crypto:
            return None
        return _DECRYPT_ERROR(
            session=session, at=at, peer=str(peer) if peer else None, error=error_text, error_type=error_type,
            message_type=message_type, message_id=str(key["id"]) if key.get("id") else None,
            causes=tuple(causes), category=category,
        )  # fmt: skip
    if says.decrypted:
        return _DECRYPT_OK(
            session=session, at=at, peer=str(peer) if peer else None, message_type=message_type,
            message_id=str(key["id"]) if key.get("id") else None,
        )  # fmt: skip
    if says.connection_open is not None:
        return ConnectionChanged(session=session, at=at, open=says.connection_open)
    return None


class _Says(NamedTuple):
    """What a record's ``msg`` says, read case-insensitively."""

    decrypt: bool
    connection: bool
    old_failure: bool
    #: a failure even without an ``err`` field
    failure: bool
    decrypted: bool
    #: the first of :data:`_CONNECTION_TEXTS` it holds: whether the connection opened; None without one
    connection_open: bool | None


#: Texts remembered: ``msg`` → what it says; (flag, error, type, causes) → category. Cleared when full;
#: long texts are never kept (a hostile log cannot fill memory through them).
_SAYS: Final[dict[str, _Says]] = {}
_CATEGORIES: Final[dict[tuple[object, ...], tuple[Category, bool]]] = {}
_MEMO_SIZE: Final = 4096
_MEMO_TEXT_LIMIT: Final = 1024


def _says(msg: str) -> _Says:
    lowered = msg.lower()
    says = _Says(
        decrypt="decrypt" in lowered,
        connection="connection" in lowered,
        old_failure=_OLD_FAILURE in lowered,
        failure="failed to decrypt" in lowered or _OLD_FAILURE in lowered,
        decrypted=_DECRYPTED.search(lowered) is not None,
        connection_open=next((is_open for pattern, is_open in _CONNECTION_TEXTS if pattern in lowered), None),
    )
    if len(msg) <= _MEMO_TEXT_LIMIT:
        if len(_SAYS) >= _MEMO_SIZE:
            _SAYS.clear()
        _SAYS[msg] = says
    return says


def _category(error: str, error_type: str | None, causes: Sequence[str], signal_layer: bool) -> tuple[Category, bool]:
    """``classify_texts([error, error_type or "", *causes], signal_layer=...)`` and whether it is a crypto failure."""
    key = (signal_layer, error, error_type, *causes)
    found = _CATEGORIES.get(key)
    if found is None:
        category = classify_texts([error, error_type or "", *causes], signal_layer=signal_layer)
        found = (category, category.is_crypto)
        if len(error) + sum(map(len, causes)) <= _MEMO_TEXT_LIMIT:
            if len(_CATEGORIES) >= _MEMO_SIZE:
                _CATEGORIES.clear()
            _CATEGORIES[key] = found
    return found


def stub_event(
    stub: Any, params: Sequence[str], ctx: ReadContext, at: datetime, peer: str | None, message_id: str | None
) -> DecryptError | None:
    """A logged message whose ``messageStubType`` is CIPHERTEXT, as the failure it records; else ``None``."""
    category = classify({"messageStubType": stub, "messageStubParameters": list(params)})
    if not category.is_crypto:
        return None
    return DecryptError(
        session=ctx.session, at=at, peer=peer, error=params[0] if params else "CIPHERTEXT", message_id=message_id,
        category=category,
    )  # fmt: skip


def stub_fields(record: dict[str, Any]) -> tuple[Any, list[str], str | None, str | None, int | None]:
    """A logged message's (stub type, parameters, peer, message id, messageTimestamp), as :func:`inspect_stub`."""
    key = record.get("key") if isinstance(record.get("key"), dict) else {}
    assert isinstance(key, dict)
    stamp = record.get("messageTimestamp")
    raw = record.get("messageStubParameters")
    params = [str(p) for p in raw] if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
    peer = key.get("participant") or key.get("remoteJid")
    return (record.get("messageStubType"), params, str(peer) if peer else None,
            str(key["id"]) if key.get("id") else None, stamp if isinstance(stamp, int) else None)  # fmt: skip


def inspect_stub(text: str) -> tuple[Any, list[str], str | None, str | None, int | None] | None:
    """Node's util.inspect of a message (``{ key: { remoteJid: '...' }, messageStubType: 2, ... }``).

    Returns (stub type, parameters, peer, message id, messageTimestamp) or ``None`` when it holds no stub.
    """
    stub = _INSPECT_STUB.search(text)
    if stub is None:
        return None
    params_match = _INSPECT_PARAMS.search(text)
    params = [_unescape(p) for p in _INSPECT_STRING.findall(params_match[1])] if params_match else []
    value: Any = int(stub[1]) if stub[1].isdigit() else stub[1].strip("'\"")
    peer = _INSPECT_FIELD["participant"].search(text) or _INSPECT_FIELD["remoteJid"].search(text)
    message_id = _INSPECT_FIELD["id"].search(text)
    stamp = _INSPECT_STAMP.search(text)
    return (
        value,
        params,
        peer[1] if peer else None,
        message_id[1] if message_id else None,
        (int(stamp[1]) if stamp else None),
    )


def _first_line(value: object) -> str:
    return value.strip().splitlines()[0] if isinstance(value, str) and value.strip() else ""


def _unescape(text: str) -> str:
    return text.replace("\\'", "'")


def _error_parts(err: object, msg: str) -> tuple[str, str | None]:
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or msg
        error_type = err.get("type") or err.get("name")
        return str(message), str(error_type) if error_type else None
    if isinstance(err, str):
        return err, None
    return msg, None
