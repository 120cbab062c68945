"""What the fuzz suites found in the readers, pinned one by one (each crashed or lost a line before its fix)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sessionmgr.cli import main
from sessionmgr.trace.readers import Reader
from tests.fuzzing import LOG_RECORDS, LOG_START, TRACE_HEADER, TRACE_RECORDS, tokens_of


def read(lines: list[str], fmt: str = "auto") -> Reader:
    reader = Reader("bot.log", format=fmt, lines=lines)  # type: ignore[arg-type]
    reader.events = [located.event for located in reader]  # type: ignore[attr-defined]
    s = reader.stats
    assert s.events + sum(s.ignored.values()) + s.rejected_count == s.lines == len(lines)
    return reader


def test_an_evolution_line_with_an_impossible_date_is_not_read_as_one() -> None:
    """``[Evolution API] 0 - 000 000 00 0000 00:00:00 ...`` (time-shaped, no time) is rejected, not a ValueError."""
    reader = read(
        [LOG_START, "[Evolution API] 0 - 000 000 00 0000 00:00:00 ERROR [] [0]", *LOG_RECORDS["evolution"](1)]
    )
    assert tokens_of(reader.events) == {"G0001X"}  # type: ignore[attr-defined]
    assert [r["line"] for r in reader.stats.rejected] == [2]


def test_a_list_message_stub_type_is_no_stub_type() -> None:
    """A pino record whose ``messageStubType`` is a list is read without a TypeError in classification."""
    line = (
        '{"level":50,"time":1767226819146,"key":{"id":"H1"},"err":{"type":"SessionError","message":"Bad MAC"},'
        '"msg":"failed to decrypt message","messageStubType":[]}'
    )
    reader = read([LOG_START, line])
    assert reader.stats.ignored["logged message without a decrypt failure"] == 1  # a stub that is no CIPHERTEXT one


def test_an_unclosed_json_record_ends_at_the_next_log_line() -> None:
    """A lone ``{`` no longer swallows the Evolution, whatsmeow or pino-pretty line after it."""
    for kind in ("evolution", "whatsmeow", "pino-pretty"):
        reader = read([LOG_START, "{", *LOG_RECORDS[kind](1)])
        assert tokens_of(reader.events) == {"G0001X"}, kind  # type: ignore[attr-defined]
        assert [(r["line"], r["reason"]) for r in reader.stats.rejected] == [
            (2, "a JSON record that never closed its braces")
        ]


def test_a_trace_enum_field_holding_a_list_is_rejected_by_name() -> None:
    """``"category": []`` in a trace line is rejected naming the field (the enum check hashed the list)."""
    good = TRACE_RECORDS["trace"](1)[0]
    reader = read([TRACE_HEADER, good[:-1] + ',"category":[]}', good], "trace")
    assert tokens_of(reader.events) == {"G0001X"}  # type: ignore[attr-defined]
    assert [r["reason"].split(":")[0] for r in reader.stats.rejected] == ["category"]


def test_a_deeply_nested_trace_line_does_not_crash_the_replays_first_scan(tmp_path: Path) -> None:
    """A trace line nested 5,000 deep that names a failed action is a rejected line, not a RecursionError in replay."""
    deep = '{"kind":"action_failed","x":' + "[" * 5000 + "]" * 5000 + "}"
    trace = tmp_path / "deep.trace.jsonl"
    trace.write_text("\n".join([TRACE_HEADER, deep, *TRACE_RECORDS["trace"](1)]) + "\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["replay", str(trace), "-q", "--json", str(out)])
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text())["input"]["files"][0]
    assert (row["lines"], row["events"], row["rejected"]) == (3, 1, 1)
