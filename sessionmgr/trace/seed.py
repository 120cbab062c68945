"""Reader for the seed's own log format: ``[ERROR] Erro de criptografia WhatsApp: { ... }`` entries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import DecryptError
from sessionmgr.trace.codec import TraceError, parse_time
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext

__all__ = ["SEED_ERROR", "read_seed"]

SEED_ERROR: Final = "Erro de criptografia WhatsApp:"
_SEED_FIELD: Final = re.compile(r"(\w+)\s*:\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^,\s{}]+)")
_SEED_LOG_LINE: Final = re.compile(r"\s*\[(ERROR|WARN|INFO|DEBUG|LOG)\]")
_QUOTED: Final = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_MESSAGE_TYPES: Final = ("msg", "pkmsg", "skmsg")


def read_seed(lines: NumberedLines, ctx: ReadContext) -> Iterator[Located]:
    """Events of the seed's log; an entry spans lines until its braces close."""
    pending: list[str] = []
    start = 0
    depth = 0
    for number, text in lines:
        if pending:
            pending.append(text)
            depth += _brace_balance(text)
            if depth <= 0:
                yield from _entry(start, "\n".join(pending), ctx)
                pending = []
            continue
        if SEED_ERROR in text:
            start, pending = number, [text]
            depth = _brace_balance(text)
            if depth <= 0:
                yield from _entry(start, text, ctx)
                pending = []
            continue
        if not text.strip():
            ctx.ignore("blank")
        elif _SEED_LOG_LINE.match(text):
            ctx.ignore("seed log line without a crypto error")
        else:
            ctx.reject(number, "not a line of the seed's log format")
    if pending:
        ctx.reject(start, "entry never closed its braces before the end of the file")


def _entry(line: int, text: str, ctx: ReadContext) -> Iterator[Located]:
    fields = dict(_SEED_FIELD.findall(text))
    values = {k: _unquote(v) for k, v in fields.items()}
    for required in ("message", "sessionId", "timestamp"):
        if required not in values:
            ctx.reject(line, f"{required}: missing from the entry")
            return
    try:
        at = parse_time(values["timestamp"])
    except TraceError as exc:
        ctx.reject(line, f"timestamp: {exc}")
        return
    error = values["message"]
    peer = values.get("remoteJid") or values.get("jid") or values.get("peer")
    message_type = values.get("messageType")
    yield Located(
        DecryptError(
            session=values["sessionId"], at=at, peer=peer, error=error, error_type=values.get("name"),
            message_type=message_type if message_type in _MESSAGE_TYPES else None,
            category=classify_texts([error, values.get("name", "")], signal_layer=True),
        ),
        ctx.path,
        line,
    )  # fmt: skip


def _brace_balance(text: str) -> int:
    # quotes may hold braces; drop quoted spans before counting
    unquoted = _QUOTED.sub("", text)
    return unquoted.count("{") - unquoted.count("}")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
