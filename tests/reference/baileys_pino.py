"""``pino_event`` as it was before issue 13 (sessionmgr b0d7ec6): events made by their classes, kept to test against.

Its helpers (``_error_parts``, ``_first_line``, the text tables) are unchanged and imported;
classification is read afresh (``classify._classify``), not from the memo.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sessionmgr.categories import Category
from sessionmgr.classify import _classify
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event
from sessionmgr.trace.baileys import (
    _CONNECTION_TEXTS,
    _DECRYPTED,
    _MESSAGE_TYPES,
    _OLD_FAILURE,
    _error_parts,
    _first_line,
)  # fmt: skip
from sessionmgr.trace.codec import TraceError
from sessionmgr.trace.lines import ReadContext
from tests.reference.trace_decode import parse_time


def classify_texts(texts: Sequence[str], *, signal_layer: bool = False) -> Category:
    return _classify(tuple(t for t in texts if t), signal_layer)


def pino_event(
    record: dict[str, Any], causes: Sequence[str], ctx: ReadContext, at: datetime | None = None
) -> Event | None:
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
        err = _first_line(record.get("trace")) or " ".join(str(p) for p in record.get("params") or ()) or msg
    key = record.get("key") if isinstance(record.get("key"), dict) else {}
    assert isinstance(key, dict)
    peer = key.get("participant") or key.get("remoteJid") or record.get("from") or record.get("jid")
    params = record.get("params")
    if peer is None and isinstance(params, list) and params and "@" in str(params[0]):
        peer = params[0]
    message_type = record.get("messageType") or record.get("type")
    message_type = message_type if message_type in _MESSAGE_TYPES else None
    if err is not None or "failed to decrypt" in lowered or _OLD_FAILURE in lowered:
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
        return DecryptOk(
            session=session, at=at, peer=str(peer) if peer else None, message_type=message_type,
            message_id=str(key["id"]) if key.get("id") else None,
        )  # fmt: skip
    for pattern, is_open in _CONNECTION_TEXTS:
        if pattern in lowered:
            return ConnectionChanged(session=session, at=at, open=is_open)
    return None
