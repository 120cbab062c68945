"""What Baileys' records say: a pino record (JSON or pretty) or a logged message with a CIPHERTEXT stub."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

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


def pino_event(
    record: dict[str, Any], causes: Sequence[str], ctx: ReadContext, at: datetime | None = None
) -> Event | None:
    """The event one pino record tells of, or ``None`` for a log line that tells of none.

    ``at`` is the time when it was read elsewhere (a pino-pretty header); else the record's ``time``.
    """
    msg = str(record.get("msg", ""))
    err = record.get("err") or record.get("error")
    lowered = msg.lower()
    session = ctx.session_of(record)
    if at is None:
        if "time" not in record:
            if err is None and "decrypt" not in lowered and "connection" not in lowered:
                return None
            raise TraceError("time: missing")
        at = parse_time(record["time"])
    if err is None and _OLD_FAILURE in lowered:
        # older Baileys: logger.error({ params, trace }, 'failure in decrypting message')
        err = _first_line(record.get("trace")) or " ".join(str(p) for p in record.get("params") or ()) or msg
    key = record.get("key") if isinstance(record.get("key"), dict) else {}
    assert isinstance(key, dict)
    peer = key.get("participant") or key.get("remoteJid") or record.get("from") or record.get("jid")
    params = record.get("params")
    if peer is None and isinstance(params, list) and params and "@" in str(params[0]):
        peer = params[0]  # older Baileys: params = [jid, ...]
    message_type = record.get("messageType") or record.get("type")
    message_type = message_type if message_type in _MESSAGE_TYPES else None
    if err is not None or "failed to decrypt" in lowered or _OLD_FAILURE in lowered:
        error_text, error_type = _error_parts(err, msg)
        category = classify_texts([error_text, error_type or "", *causes], signal_layer="decrypt" in lowered)
        if not category.is_crypto:
            return None
        return _DECRYPT_ERROR(
            session=session, at=at, peer=str(peer) if peer else None, error=error_text, error_type=error_type,
            message_type=message_type, message_id=str(key["id"]) if key.get("id") else None,
            causes=tuple(causes), category=category,
        )  # fmt: skip
    if _DECRYPTED.search(lowered):
        return _DECRYPT_OK(
            session=session, at=at, peer=str(peer) if peer else None, message_type=message_type,
            message_id=str(key["id"]) if key.get("id") else None,
        )  # fmt: skip
    for pattern, is_open in _CONNECTION_TEXTS:
        if pattern in lowered:
            return ConnectionChanged(session=session, at=at, open=is_open)
    return None


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
