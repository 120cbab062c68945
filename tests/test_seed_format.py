"""The seed's log format under bad input: bounded entries, linear parsing, every line accounted for."""

from __future__ import annotations

from sessionmgr.events import DecryptError
from sessionmgr.trace import seed
from sessionmgr.trace.readers import Reader
from sessionmgr.trace.seed import _brace_balance

HEAD = "[ERROR] Erro de criptografia WhatsApp: {"


def entry(session: int, second: int = 0) -> str:
    """A one-line entry of the seed's log for ``session``."""
    return (
        f'{HEAD} message: "Bad MAC", sessionId: {session}, timestamp: "2026-01-01T00:00:{second:02d}.000Z", '
        'context: { remoteJid: "peer-1", messageType: "msg" } }'
    )


def read(lines: list[str]) -> tuple[list[str], Reader]:
    reader = Reader("seed.log", format="seed", lines=lines)
    sessions = [loc.event.session for loc in reader if isinstance(loc.event, DecryptError)]
    return sessions, reader


def accounted(reader: Reader) -> bool:
    s = reader.stats
    return s.events + sum(s.ignored.values()) + s.rejected_count == s.lines


def test_an_unclosed_entry_does_not_swallow_the_entries_after_it() -> None:
    """An entry whose braces never close is rejected at its line; the next log line ends it and is read."""
    sessions, reader = read(
        [entry(1), HEAD + ' message: "x", context: { a: "}"', "  sessionId: 9,", entry(2), entry(3)]
    )
    assert sessions == ["1", "2", "3"]
    assert [(r["line"], r["reason"]) for r in reader.stats.rejected] == [
        (2, "entry never closed its braces (a new log line began)")
    ]
    assert accounted(reader)


def test_an_entry_is_bounded_in_lines() -> None:
    """An open entry followed by endless non-log lines is cut at the bound; the lines after it are read again."""
    junk = ["  more: stuff,"] * 250
    sessions, reader = read([HEAD, *junk, entry(7)])
    assert sessions == ["7"]
    assert reader.stats.rejected[0]["line"] == 1
    assert "never closed" in reader.stats.rejected[0]["reason"]
    assert reader.stats.rejected_count == 1 + 250 - seed.MAX_ENTRY_LINES  # the entry, then each junk line past it
    assert accounted(reader)


def test_multi_line_entries_account_for_every_line() -> None:
    """The lines an entry continues on are counted (lines = events + ignored + rejected)."""
    sessions, reader = read([HEAD, ' message: "Bad MAC",', " sessionId: 4,", ' timestamp: "2026-01-01T00:00:00Z"', "}"])
    assert sessions == ["4"]
    assert reader.stats.ignored["seed entry continued"] == 4
    assert accounted(reader)


def test_brace_count_ignores_quoted_braces_and_open_quotes() -> None:
    """Braces inside quotes do not count, and an apostrophe that never closes hides no brace."""
    assert _brace_balance("{ a: \"}\", b: '{' ") == 1
    assert _brace_balance("{ message: Can't decrypt }") == 0
    assert _brace_balance('{ x: "a\\"}" }') == 0
    assert _brace_balance('"\\' * 5000 + "{") == 1  # was quadratic: 32 KB of this took 7 s


def test_a_huge_timestamp_is_rejected_by_length_without_its_content() -> None:
    """A 32 KB timestamp is rejected naming its length (parsing it was quadratic and the reason repeated it)."""
    huge = "1" * 32_000
    line = f'{HEAD} message: "Bad MAC", sessionId: 5, timestamp: "{huge}" }}'
    sessions, reader = read([line, entry(6)])
    assert sessions == ["6"]
    assert reader.stats.rejected == [
        {"file": "seed.log", "line": 1, "reason": "timestamp: time: not ISO-8601 (32000 characters)"}
    ]
