"""Reader for the seed's own log format: ``[ERROR] Erro de criptografia WhatsApp: { ... }`` entries.

An entry may span lines until its braces close. It is bounded: a new log line
(another entry, or any ``[LEVEL]`` line), more than :data:`MAX_ENTRY_LINES`
lines or :data:`MAX_ENTRY_CHARS` characters end an entry that never closed, which
is rejected while the lines after it are read as usual (an unclosed brace once
swallowed the rest of the file, and under ``watch`` everything appended later).
Every pass over a line is linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import DecryptError
from sessionmgr.trace.codec import TraceError, parse_time
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext

__all__ = ["MAX_ENTRY_CHARS", "MAX_ENTRY_LINES", "SEED_ERROR", "read_seed"]

SEED_ERROR: Final = "Erro de criptografia WhatsApp:"
#: An entry longer than this is not one the seed printed (its entries are ~6 lines, ~300 characters).
MAX_ENTRY_LINES: Final = 200
MAX_ENTRY_CHARS: Final = 64 * 1024
# ``(?<!\w)``: a key starts a word, so a long run of word characters is scanned once, not once per position
_SEED_FIELD: Final = re.compile(r"(?<!\w)(\w+)\s*:\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^,\s{}]+)")
_SEED_LOG_LINE: Final = re.compile(r"\s*\[(ERROR|WARN|INFO|DEBUG|LOG)\]")
_BRACE_OR_QUOTE: Final = re.compile(r"[{}\"']")
_QUOTED_FROM: Final = {q: re.compile(f"{q}[^{q}\\\\]*(?:\\\\.[^{q}\\\\]*)*{q}") for q in "\"'"}
_MESSAGE_TYPES: Final = ("msg", "pkmsg", "skmsg")
_CONTINUATION: Final = "seed entry continued"


class _Entry:
    """An entry being gathered: its first line's number, its lines, its open braces and size."""

    __slots__ = ("chars", "depth", "lines", "start")

    def __init__(self, start: int, text: str) -> None:
        self.start, self.lines, self.depth, self.chars = start, [text], _brace_balance(text), len(text)

    def add(self, text: str) -> None:
        self.lines.append(text)
        self.depth += _brace_balance(text)
        self.chars += len(text)

    @property
    def closed(self) -> bool:
        return self.depth <= 0

    @property
    def too_big(self) -> bool:
        return len(self.lines) > MAX_ENTRY_LINES or self.chars > MAX_ENTRY_CHARS


def read_seed(lines: NumberedLines, ctx: ReadContext) -> Iterator[Located]:
    """Events of the seed's log; an entry spans lines until its braces close (within bounds)."""
    entry: _Entry | None = None
    for number, text in lines:
        if entry is not None:
            if SEED_ERROR in text or _SEED_LOG_LINE.match(text):
                _unclosed(entry, ctx, "a new log line began")  # and this line is read below
                entry = None
            else:
                entry.add(text)
                ctx.ignore(_CONTINUATION)
                if entry.closed:
                    yield from _entry(entry.start, "\n".join(entry.lines), ctx)
                    entry = None
                elif entry.too_big:
                    _unclosed(entry, ctx, f"over {MAX_ENTRY_LINES} lines or {MAX_ENTRY_CHARS} characters")
                    entry = None
                continue
        if SEED_ERROR in text:
            entry = _Entry(number, text)
            if entry.closed:
                yield from _entry(number, text, ctx)
                entry = None
            elif entry.too_big:
                _unclosed(entry, ctx, f"over {MAX_ENTRY_CHARS} characters")
                entry = None
        elif not text.strip():
            ctx.ignore("blank")
        elif _SEED_LOG_LINE.match(text):
            ctx.ignore("seed log line without a crypto error")
        else:
            ctx.reject(number, "not a line of the seed's log format")
    if entry is not None:
        _unclosed(entry, ctx, "the file ended")


def _unclosed(entry: _Entry, ctx: ReadContext, why: str) -> None:
    ctx.reject(entry.start, f"entry never closed its braces ({why})")


def _entry(line: int, text: str, ctx: ReadContext) -> Iterator[Located]:
    values = {key: _unquote(value) for key, value in _SEED_FIELD.findall(text)}
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
    """Opening minus closing braces outside quoted spans, in one pass.

    A quote that never closes is a literal character, as is every later quote of
    its kind (so an apostrophe in ``Can't`` hides no brace, and is looked past once).
    """
    balance = 0
    position = 0
    unclosed: set[str] = set()
    while (match := _BRACE_OR_QUOTE.search(text, position)) is not None:
        token, position = match.group(), match.end()
        if token == "{":
            balance += 1
        elif token == "}":
            balance -= 1
        elif token not in unclosed:
            span = _QUOTED_FROM[token].match(text, match.start())
            if span is None:
                unclosed.add(token)
            else:
                position = span.end()
    return balance


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
