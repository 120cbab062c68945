"""Reader for Baileys logs: pino JSON lines with libsignal-node's console lines mixed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event
from sessionmgr.trace.codec import TraceError, parse_time
from sessionmgr.trace.libsignal_console import console_line
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext

__all__ = ["pino_event", "read_baileys"]

_CONNECTION_TEXTS: Final = (
    ("opened connection to wa", True),
    ("connection open", True),
    ("connection closed", False),
    ("connection errored", False),
    ("stream errored out", False),
)
_DECRYPTED: Final = re.compile(r"\bdecrypted (message|msg)\b")
_MESSAGE_TYPES: Final = ("msg", "pkmsg", "skmsg")
#: Causes belong to the error logged right after them; this many other lines and they are dropped.
_CAUSE_HORIZON: Final = 200


def read_baileys(lines: NumberedLines, ctx: ReadContext) -> Iterator[Located]:
    """Events of a Baileys log; console lines are accounted for and kept as the next error's causes."""
    causes: list[str] = []
    since_cause = 0
    for number, text in lines:
        stripped = text.strip()
        if not stripped:
            ctx.ignore("blank")
            continue
        if stripped.startswith("{") and text.startswith("{"):
            record = ctx.json_object(number, stripped)
            if record is None:
                continue
            try:
                event = pino_event(record, causes, ctx)
            except TraceError as exc:
                ctx.reject(number, str(exc))
                continue
            if event is None:
                ctx.ignore("log line without a decrypt event")
                continue
            if isinstance(event, DecryptError):
                causes, since_cause = [], 0
            yield Located(event, ctx.path, number)
            continue
        kind, cause = console_line(text)
        if kind is None:
            ctx.reject(number, "neither a pino JSON line nor a known libsignal console line")
            continue
        ctx.ignore(kind)
        if cause is not None:
            causes.append(cause)
            since_cause = 0
        elif causes:
            since_cause += 1
            if since_cause > _CAUSE_HORIZON:
                causes = []


def pino_event(record: dict[str, Any], causes: list[str], ctx: ReadContext) -> Event | None:
    """The event one pino record tells of, or ``None`` for a log line that tells of none."""
    msg = str(record.get("msg", ""))
    err = record.get("err") or record.get("error")
    lowered = msg.lower()
    session = ctx.session_of(record)
    if "time" not in record:
        if err is None and "decrypt" not in lowered and "connection" not in lowered:
            return None
        raise TraceError("time: missing")
    at = parse_time(record["time"])
    key = record.get("key") if isinstance(record.get("key"), dict) else {}
    assert isinstance(key, dict)
    peer = key.get("participant") or key.get("remoteJid") or record.get("from") or record.get("jid")
    message_type = record.get("messageType") or record.get("type")
    message_type = message_type if message_type in _MESSAGE_TYPES else None
    if err is not None or "failed to decrypt" in lowered:
        error_text, error_type = _error_parts(err, msg)
        category = classify_texts([error_text, error_type or "", *causes], signal_layer="decrypt" in lowered)
        if not category.is_crypto:
            return None
        return DecryptError(
            session=session, at=at, peer=str(peer) if peer else None, error=error_text, error_type=error_type,
            message_type=message_type, message_id=str(key["id"]) if key.get("id") else None,
            causes=tuple(causes), category=category,
        )  # fmt: skip
    if _DECRYPTED.search(lowered):
        return DecryptOk(session=session, at=at, peer=str(peer) if peer else None, message_type=message_type)
    for pattern, is_open in _CONNECTION_TEXTS:
        if pattern in lowered:
            return ConnectionChanged(session=session, at=at, open=is_open)
    return None


def _error_parts(err: object, msg: str) -> tuple[str, str | None]:
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or msg
        error_type = err.get("type") or err.get("name")
        return str(message), str(error_type) if error_type else None
    if isinstance(err, str):
        return err, None
    return msg, None
