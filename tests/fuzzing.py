"""Hypothesis strategies for hostile log lines, and the known-good records planted among them.

Each good record is a real tool's output (from ``examples/``, made by pino, pino-pretty,
whatsmeow's and Evolution API's loggers, and the seed) with a unique token put where
the reader reads a message id or an error text, so a test can check that every
planted failure comes out whatever surrounds it. Hostile lines carry a phone number
and a plaintext marker, which must never reach a rejection's kind, a log or /health.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import strategies as st

from sessionmgr.events import DecryptError, Event

PHONE = "5511987654321"
MARKER = "PLAINTEXT-MARKER-zq"

# --- the good records: one failure each, token ``G<n>X`` where its id or error text is ----------------------------

_PINO = (
    '{"level":50,"time":TIME,"pid":4242,"hostname":"bot-host","key":{"remoteJid":"5500294525095@s.whatsapp.net",'
    '"fromMe":false,"id":"TOKEN"},"err":{"type":"SessionError","message":"No matching sessions found for message",'
    '"stack":"SessionError: No matching sessions found for message"},"msg":"failed to decrypt message",'
    '"messageType":"msg"}'
)  # examples/bot-01.baileys.log line 46
_ZEROLOG = (
    '{"level":"warn","sublogger":"Client","time":"2026-01-05T09:30:01Z","message":"Error decrypting message TOKEN '
    "from 5511900000001@s.whatsapp.net in 5511900000001@s.whatsapp.net: failed to decrypt normal message: "
    'mismatching MAC in signal message"}'
)  # examples/bot-06.zerolog.jsonl line 2
_WHATSMEOW = (
    "09:30:03.000 [Client WARN] Error decrypting message TOKEN from 5511900000001@s.whatsapp.net in "
    "5511900000001@s.whatsapp.net: failed to decrypt normal message: mismatching MAC in signal message"
)  # examples/bot-05.whatsmeow.log line 6
_PRETTY = [
    "[09:30:03.500] ERROR (4242): failed to decrypt message",
    "    key: {",
    '      "remoteJid": "5511900000001@s.whatsapp.net",',
    '      "fromMe": false,',
    '      "id": "TOKEN"',
    "    }",
    '    messageType: "msg"',
    "    err: {",
    '      "type": "SessionError",',
    '      "message": "No matching sessions found for message",',
    '      "name": "SessionError"',
    "    }",
    "[09:30:03.600] INFO (4242): closing the record above",
]  # examples/bot-03.pino-pretty.log lines 14-34, the stack left out; the next record at the margin ends a block
# (an indented line after a block, hostile or not, reads as one of its fields: that is pino-pretty's own layout)
_EVOLUTION = (
    "[Evolution API] 4242 - Mon Jan 05 2026 09:30:03   ERROR  [ChannelStartupService] [string] "
    "failed to decrypt message: Bad MAC TOKEN"
)  # examples/bot-09.evolution-api.log line 2
_SEED = (
    '[ERROR] Erro de criptografia WhatsApp: { message: "Bad MAC TOKEN", sessionId: 2, '
    'timestamp: "2026-01-01T00:15:46.595Z", context: { remoteJid: "peer-76c337fa74cf", messageType: "msg" } }'
)  # examples/seed.log line 1
_SEED_LINES = [
    "[ERROR] Erro de criptografia WhatsApp: {",
    '  message: "Bad MAC TOKEN",',
    "  sessionId: 2,",
    '  timestamp: "2026-01-01T00:15:48.595Z",',
    '  context: { remoteJid: "peer-76c337fa74cf", messageType: "pkmsg" }',
    "}",
]  # examples/seed.log lines 3-8
#: A pino info line, as Baileys logs begin with (cf. examples/bot-01.baileys.log): it tells detection what the file is.
LOG_START = '{"level":30,"time":1767225600000,"pid":4242,"hostname":"bot-host","msg":"connecting to WhatsApp"}'
TRACE_HEADER = '{"schema":"sessionmgr.trace/1","origin":"2026-01-01T00:00:00Z"}'
_TRACE = (
    '{"t":"2026-01-01T00:15:46.595Z","session":"bot-02","kind":"decrypt_error","peer":"peer-76c337fa74cf",'
    '"error":"UntrustedIdentityKeyError","error_type":"UntrustedIdentityKeyError","message_type":"pkmsg",'
    '"message_id":"TOKEN","offset":946.595}'
)  # examples/simulation.trace.jsonl line 67, its causes left out


def token(n: int) -> str:
    return f"G{n:04d}X"


def _one(template: str) -> Callable[[int], list[str]]:
    return lambda n: [template.replace("TOKEN", token(n)).replace("TIME", str(1767226819146 + n))]


def _many(template: list[str]) -> Callable[[int], list[str]]:
    return lambda n: [line.replace("TOKEN", token(n)) for line in template]


#: The good records of operators' logs, by kind; prefixed, CRLF and ANSI variants are among them.
LOG_RECORDS: dict[str, Callable[[int], list[str]]] = {
    "pino": _one(_PINO),
    "pino-pm2": lambda n: ["0|bot  | " + line for line in _one(_PINO)(n)],
    "pino-compose": lambda n: ["bot-1  | " + line for line in _one(_PINO)(n)],
    "pino-crlf": lambda n: [line + "\r" for line in _one(_PINO)(n)],
    "zerolog": _one(_ZEROLOG),
    "whatsmeow": _one(_WHATSMEOW),
    "pino-pretty": _many(_PRETTY),
    "evolution": _one(_EVOLUTION),
    "evolution-ansi": lambda n: ["\x1b[1m\x1b[31m" + _one(_EVOLUTION)(n)[0] + "\x1b[0m"],
}
SEED_RECORDS: dict[str, Callable[[int], list[str]]] = {"seed": _one(_SEED), "seed-lines": _many(_SEED_LINES)}
TRACE_RECORDS: dict[str, Callable[[int], list[str]]] = {"trace": _one(_TRACE)}


def tokens_of(events: list[Event]) -> set[str]:
    """Every planted token an event carries (as its message id or in its error text)."""
    found: set[str] = set()
    for event in events:
        if isinstance(event, DecryptError):
            for text in (event.message_id or "", event.error or ""):
                found.update(word for word in text.replace('"', " ").split() if word[:1] == "G" and word[-1:] == "X")
    return found


# --- hostile lines -------------------------------------------------------------------------------------------------

_ODD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e308", "1e300", "-1e15", "-0", "0", "9" * 40, "1.5e12", "-1"]
_ODD_VALUES = [*_ODD_NUMBERS, "null", "true", "[]", "{}", "[1]", '"x"', f'"{PHONE}"', f'"{MARKER}"', '"2026-13-45"']
_PINO_FIELDS = ["time", "level", "msg", "key", "err", "messageStubParameters", "messageStubType", "messageTimestamp"]


def _pino_with(field: str, value: str) -> str:
    record = (
        '{"level":50,"time":1767226819146,"key":{"remoteJid":"' + PHONE + '@s.whatsapp.net","id":"H1"},'
        '"err":{"type":"SessionError","message":"Bad MAC ' + MARKER + '"},"msg":"failed to decrypt message"}'
    )
    obj = json.loads(record)
    obj.pop(field, None)
    text = json.dumps(obj)
    return text[:-1] + f', "{field}": {value}}}' if obj else "{" + f'"{field}": {value}' + "}"


ODD_PINO = st.builds(_pino_with, st.sampled_from(_PINO_FIELDS), st.sampled_from(_ODD_VALUES))
ODD_TRACE = st.builds(
    lambda field, value: _TRACE.replace("TOKEN", "H1")[:-1] + f',"{field}":{value}}}',
    st.sampled_from(["t", "session", "kind", "peer", "error", "causes", "offset", "message_id", "category"]),
    st.sampled_from(_ODD_VALUES),
)
ODD_SEED = st.sampled_from(
    [
        "[ERROR] Erro de criptografia WhatsApp: {",
        f'[ERROR] Erro de criptografia WhatsApp: {{ message: "{MARKER}", sessionId: {PHONE}',
        '[ERROR] Erro de criptografia WhatsApp: { message: "x", sessionId: 1, timestamp: "' + "1" * 5000 + '" }',
        f'[ERROR] Erro de criptografia WhatsApp: {{ message: "x", sessionId: 1, timestamp: "{PHONE}" }}',
        '[ERROR] Erro de criptografia WhatsApp: { message: "' + '"\\' * 3000 + " }",
        '[ERROR] Erro de criptografia WhatsApp: { message: "it\'s {", sessionId: 1 }',
        "[INFO] " + MARKER,
    ]
)
_DEEP = st.integers(min_value=50, max_value=1500).flatmap(
    lambda depth: st.sampled_from(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth])
)
_HUGE = st.integers(min_value=2_000, max_value=40_000).flatmap(
    lambda n: st.sampled_from(["x" * n, '{"msg":"' + "9" * n + '"}', "{" + "a" * n, " " * n + "}"])
)
# no lone surrogates: lines come from files decoded with errors="replace", which never yields one
_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"), max_size=120)
_BYTES = st.binary(max_size=160).map(lambda b: b.decode("utf-8", errors="replace").replace("\n", " ").replace("\r", ""))
_LEAKY_TEXT = st.sampled_from(
    [
        f"{PHONE}@s.whatsapp.net {MARKER}",
        f'{{"msg": "{MARKER}", "key": {{"remoteJid": "{PHONE}@s.whatsapp.net"}}}}',
        f"09:30:03.000 [Client WARN] Error decrypting message {MARKER} from {PHONE}@s.whatsapp.net",
        f"[Evolution API] 4242 - Mon Jan 05 2026 99:99:99   ERROR  [X] [string] {MARKER} {PHONE}",
        f"[{PHONE}] ERROR ({MARKER}): failed to decrypt message",
        f"Session error:{MARKER} {PHONE}",
    ]
)


def _mutated(lines: list[str]) -> st.SearchStrategy[str]:
    """A real line cut short, or with one character changed, inserted or deleted."""

    def mutate(line: str, at: int, char: str, how: int) -> str:
        at %= max(len(line), 1)
        return [line[:at], line[:at] + char + line[at + 1 :], line[:at] + char + line[at:], line[:at] + line[at + 1 :]][
            how
        ]

    return st.builds(
        mutate,
        st.sampled_from(lines),
        st.integers(0, 10_000),
        st.sampled_from('{}[]":,\\ 9\x00\x1b'),
        st.integers(0, 3),
    )


def _wrapped(line: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A hostile line as collectors and terminals may hand it over: prefixed, CRLF, coloured."""
    return st.builds(
        lambda text, how: [text, "0|bot  | " + text, "bot-1  | " + text, text + "\r", f"\x1b[31m{text}\x1b[0m"][how],
        line,
        st.integers(0, 4),
    )


_REAL = [line for make in (*LOG_RECORDS.values(), *SEED_RECORDS.values(), *TRACE_RECORDS.values()) for line in make(1)]
#: Any one hostile line (no line break inside), for any reader.
HOSTILE_LINE = _wrapped(
    st.one_of(ODD_PINO, ODD_TRACE, ODD_SEED, _DEEP, _HUGE, _TEXT, _BYTES, _LEAKY_TEXT, _mutated(_REAL))
)


def planted(
    records: dict[str, Callable[[int], list[str]]], hostile: st.SearchStrategy[str], max_records: int = 8
) -> st.SearchStrategy[tuple[list[str], set[str]]]:
    """Lines of good records (each with its token) with 0-3 hostile lines between any two: (lines, tokens)."""

    def build(plan: list[tuple[str, list[str]]]) -> tuple[list[str], set[str]]:
        lines: list[str] = []
        tokens: set[str] = set()
        for n, (kind, noise) in enumerate(plan):
            lines += noise
            if kind:
                lines += records[kind](n)
                tokens.add(token(n))
        return lines, tokens

    kinds = st.sampled_from(["", *records])  # "" plants nothing: hostile lines may follow each other
    return st.lists(st.tuples(kinds, st.lists(hostile, max_size=3)), max_size=max_records).map(build)
