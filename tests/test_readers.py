"""Readers: every line accounted for, bad lines listed, formats detected, files merged by time."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sessionmgr import Category, ConnectionChanged, DecryptError
from sessionmgr.trace.readers import Reader, ReadError, detect_format, merge

JID = "5511999990000@s.whatsapp.net"
BAILEYS = [
    '{"level":30,"time":1700000000000,"msg":"opened connection to WA"}',
    "Failed to decrypt message with any known session...",
    "Session error:Error: Bad MAC Error: Bad MAC",
    "    at Object.verifyMAC (/app/node_modules/libsignal/src/crypto.js:87:15)",
    "    at SessionCipher.doDecryptWhisperMessage (/app/node_modules/libsignal/src/session_cipher.js:250:16)",
    '{"level":50,"time":1700000001000,"key":{"remoteJid":"' + JID + '","id":"ABC"},'
    '"err":{"type":"SessionError","message":"No matching sessions found for message"},"msg":"failed to decrypt message"}',
    "Closing open session in favor of incoming prekey bundle",
    "Closing session: SessionEntry {",
    "  _chains: {",
    "    pubKey: <Buffer 05 1a 2b>",
    "}",
    '{"level":50,"time":"2023-11-14T22:13:25.000Z","key":{"remoteJid":"' + JID + '"},'
    '"err":{"type":"PreKeyError","message":"Invalid PreKey ID"},"msg":"failed to decrypt message","messageType":"pkmsg"}',
    '{"level":30,"time":1700000006000,"msg":"some other info line"}',
]


def read(lines: list[str], **kw: object) -> tuple[list[object], Reader]:
    reader = Reader(str(kw.pop("name", "bot-7.log")), lines=lines, **kw)  # type: ignore[arg-type]
    return [loc.event for loc in reader], reader


def test_baileys_log_with_console_lines_is_fully_accounted_for() -> None:
    """Each decrypt error is classified (the wrapped Bad MAC by its logged cause); every line is accounted for."""
    events, reader = read(BAILEYS)
    stats = reader.stats
    assert stats.format == "baileys"
    assert [type(e).__name__ for e in events] == ["ConnectionChanged", "DecryptError", "DecryptError"]
    first, second = events[1], events[2]
    assert isinstance(first, DecryptError) and isinstance(second, DecryptError)
    assert (first.category, first.causes, first.peer, first.message_id) == (
        Category.BAD_MAC, ("Error: Bad MAC",), JID, "ABC",
    )  # fmt: skip
    assert (second.category, second.message_type, second.causes) == (Category.PREKEY, "pkmsg", ())
    assert first.session == "bot-7"  # one Baileys file is one session, named after the file
    assert stats.lines == len(BAILEYS)
    assert stats.events + sum(stats.ignored.values()) + stats.rejected_count == stats.lines
    assert stats.rejected_count == 0


def test_garbage_lines_are_listed_and_never_stop_the_rest() -> None:
    """Bad lines are rejected with their line numbers and reasons; the good ones still become events."""
    lines = [
        *BAILEYS[:3],
        "%%% garbage %%%",
        '{"level":50,"msg":"failed to decrypt message"}',
        '{"broken',
        *BAILEYS[3:],
    ]
    events, reader = read(lines)
    assert len(events) == 3
    assert [(r["line"], r["reason"]) for r in reader.stats.rejected] == [
        (4, "not a line of any known log format (pino JSON or pretty, libsignal, whatsmeow, Evolution API)"),
        (5, "time: missing"),
        (6, "not valid JSON: Unterminated string starting at (column 2)"),
    ]


def test_strict_mode_stops_at_the_first_bad_line() -> None:
    """--strict turns the first bad line into an error naming file and line."""
    with pytest.raises(ReadError, match=r"bot-7\.log:2: "):
        read([BAILEYS[0], "%%% garbage", *BAILEYS[1:]], strict=True)


def test_session_override_and_field() -> None:
    """--session names the session; a field mapping reads it from each line."""
    events, _ = read(BAILEYS, session="bot-A")
    assert {e.session for e in events} == {"bot-A"}  # type: ignore[attr-defined]
    line = '{"level":50,"time":1700000001000,"instance":"bot-B","err":{"message":"Bad MAC"},"msg":"failed to decrypt message"}'
    events, _ = read([line], session_field="instance")
    assert [e.session for e in events] == ["bot-B"]  # type: ignore[attr-defined]


def test_seed_format_over_several_lines() -> None:
    """The seed's entries, one-line or spread over several, become events; a missing field is named."""
    lines = [
        "[INFO] Sessão iniciada",
        "[ERROR] Erro de criptografia WhatsApp: {",
        '  message: "Bad MAC",',
        "  sessionId: 123,",
        '  timestamp: "2024-01-15T10:30:00.000Z",',
        f'  context: {{ remoteJid: "{JID}" }}',
        "}",
        '[ERROR] Erro de criptografia WhatsApp: { message: "Invalid PreKey ID", sessionId: 124, '
        'timestamp: "2024-01-15T10:30:05.000Z" }',
        '[ERROR] Erro de criptografia WhatsApp: { message: "x", timestamp: "2024-01-15T10:30:05.000Z" }',
    ]
    events, reader = read(lines, name="app.log")
    assert reader.stats.format == "seed"
    assert [(e.session, e.category, e.peer) for e in events] == [  # type: ignore[attr-defined]
        ("123", Category.BAD_MAC, JID),
        ("124", Category.PREKEY, None),
    ]
    assert reader.stats.rejected == [{"file": "app.log", "line": 9, "reason": "sessionId: missing from the entry"}]


def test_detection() -> None:
    """Auto-detection tells the three formats apart from their first lines."""
    assert detect_format(['{"schema":"sessionmgr.trace/1"}']) == "trace"
    assert detect_format(["", BAILEYS[0]]) == "baileys"
    assert detect_format(["[ERROR] Erro de criptografia WhatsApp: {"]) == "seed"


def test_gzip_and_merge_by_time(tmp_path: Path) -> None:
    """.gz inputs are read transparently; several files merge into one time-ordered stream."""
    early = tmp_path / "bot-1.log.gz"
    early.write_bytes(gzip.compress("\n".join([BAILEYS[0], BAILEYS[5]]).encode()))
    late = tmp_path / "bot-2.log"
    late.write_text('{"level":30,"time":1700000000500,"msg":"connection closed"}\n')
    merged = list(merge([Reader(early), Reader(late)]))
    assert [(m.event.session, m.event.kind) for m in merged] == [
        ("bot-1", "connection"), ("bot-2", "connection"), ("bot-1", "decrypt_error"),
    ]  # fmt: skip
    assert isinstance(merged[1].event, ConnectionChanged) and not merged[1].event.open


def test_canonical_trace_errors_name_the_field() -> None:
    """A canonical trace line with a bad field is rejected naming that field."""
    lines = [
        '{"schema":"sessionmgr.trace/1"}',
        '{"t":"2026-01-01T00:00:00.000Z","session":"s","kind":"decrypt_error","error":"Bad MAC","category":"bad_mac"}',
        '{"t":"yesterday","session":"s","kind":"decrypt_error"}',
        '{"t":"2026-01-01T00:00:01.000Z","kind":"decrypt_ok"}',
        '{"t":"2026-01-01T00:00:01.000Z","session":"s","kind":"teleport"}',
    ]
    events, reader = read(lines, name="x.trace")
    assert len(events) == 1
    assert [r["reason"] for r in reader.stats.rejected] == [
        "time: not ISO-8601: 'yesterday'",
        "session: missing",
        "kind: unknown event kind 'teleport'",
    ]


def test_detect_names_each_operators_format() -> None:
    """A file's first lines name its main format; libsignal's console counts only when alone."""
    assert detect_format(["[09:30:00.000] INFO (4242): opened connection to WA"]) == "pino-pretty"
    assert detect_format(["Failed to decrypt message with any known session..."]) == "libsignal"
    assert detect_format(["09:30:00.000 [Client INFO] Successfully authenticated"]) == "whatsmeow"
    assert detect_format(['{"level":"info","time":"2026-01-05T09:30:00Z","message":"Successfully authenticated"}']) == (
        "whatsmeow"
    )
    assert detect_format(["[ERROR] 2026-01-05T09:30:03Z SessionCipher.go ▶  mismatching MAC"]) == "whatsmeow"
    assert detect_format(["0|bot  | " + BAILEYS[0], "Session error:Error: Bad MAC Error: Bad MAC"]) == "baileys"
