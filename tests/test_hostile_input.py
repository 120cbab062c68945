"""Hostile input: bad times, deep JSON, ill-typed trace fields and odd lines are rejected, never raised."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionmgr import DecryptError
from sessionmgr.trace.readers import Reader, detect_format
from sessionmgr.trace.scrub import Scrubber

JID = "5511999990000@s.whatsapp.net"


def pino(time: str, message_id: str = "ABC") -> str:
    """A Baileys decrypt failure as pino prints it, with ``time`` spliced in raw (it may be NaN)."""
    return (
        '{"level":50,"time":' + time + ',"key":{"remoteJid":"' + JID + '","id":"' + message_id + '"},'
        '"err":{"type":"SessionError","message":"Bad MAC"},"msg":"failed to decrypt message"}'
    )


GOOD_FIRST = pino("1700000000000", "GOOD1")
GOOD_LAST = pino("1700000005000", "GOOD2")
DEEP = '{"a":' + "[" * 1000 + "]" * 1000 + "}"
HEADER = '{"schema":"sessionmgr.trace/1","origin":"2023-11-14T22:13:20Z"}'


def trace_line(message_id: str, **extra: object) -> str:
    """A canonical trace's decrypt error; ``extra`` overrides fields (written raw, so NaN stays NaN)."""
    record: dict[str, object] = {
        "t": "2023-11-14T22:13:20.000Z", "session": "s1", "kind": "decrypt_error", "peer": "peer-1",
        "error": "Bad MAC", "category": "bad_mac", "message_id": message_id, "offset": 0.5, **extra,
    }  # fmt: skip
    return json.dumps(record)


def read(lines: list[str]) -> Reader:
    reader = Reader("bot-7.log", lines=lines)
    reader.events = [loc.event for loc in reader]  # type: ignore[attr-defined]
    return reader


def accounted(reader: Reader) -> bool:
    stats = reader.stats
    return stats.events + sum(stats.ignored.values()) + stats.rejected_count == stats.lines


def message_ids(reader: Reader) -> list[str | None]:
    return [e.message_id for e in reader.events if isinstance(e, DecryptError)]  # type: ignore[attr-defined]


def test_unreadable_times_are_rejected_with_the_field_named() -> None:
    """A ``time`` of NaN, 1e300 or -1e15 rejects its line (numbered, reason ``time: ...``); the good lines survive."""
    reader = read([GOOD_FIRST, pino("NaN"), pino("1e300"), pino("-1e15"), GOOD_LAST])
    assert message_ids(reader) == ["GOOD1", "GOOD2"]
    assert [r["line"] for r in reader.stats.rejected] == [2, 3, 4]
    assert all(r["reason"].startswith("time: ") for r in reader.stats.rejected)
    assert accounted(reader)


def test_deeply_nested_json_is_rejected_by_readers_detection_and_scrub() -> None:
    """JSON nested 1,000 deep is a rejected line for the reader, no guess for detection and passes scrub untouched."""
    assert detect_format([DEEP, GOOD_FIRST]) == "baileys"
    reader = read([GOOD_FIRST, DEEP, GOOD_LAST])
    assert message_ids(reader) == ["GOOD1", "GOOD2"]
    assert [(r["line"], "nested deeper" in r["reason"]) for r in reader.stats.rejected] == [(2, True)]
    assert accounted(reader)
    assert Scrubber(b"k", fake_number=lambda seed: "5511900000000").line(DEEP) == DEEP


def test_ill_typed_trace_fields_are_rejected_at_decode() -> None:
    """Trace lines whose ``causes``, ``peer`` or ``offset`` has the wrong type or an absurd value are rejected by field."""
    lines = [
        HEADER,
        trace_line("OK1"),
        trace_line("X1", causes=5),
        trace_line("X2", peer=[1]),
        trace_line("X3", offset=float("nan")),
        trace_line("X4", offset=1e12),
        trace_line("OK2", causes=["Bad MAC"]),
    ]
    reader = read(lines)
    assert message_ids(reader) == ["OK1", "OK2"]
    reasons = [(r["line"], r["reason"].split(":")[0]) for r in reader.stats.rejected]
    assert reasons == [(3, "causes"), (4, "peer"), (5, "offset"), (6, "offset")]
    assert accounted(reader)


def test_json_lines_with_leading_whitespace_are_read_as_json() -> None:
    """An indented pino line is read as the JSON record it is, not counted as an ignored session dump."""
    reader = read(["   " + GOOD_FIRST, "\t" + GOOD_LAST])
    assert message_ids(reader) == ["GOOD1", "GOOD2"]
    assert not reader.stats.ignored and not reader.stats.rejected


def test_a_brace_line_at_a_wrap_width_does_not_swallow_the_records_after_it() -> None:
    """A broken ``{`` line exactly 80 wide is rejected alone; the whole JSON records after it are still read."""
    reader = read(["{" + "x" * 79, GOOD_FIRST, GOOD_LAST])
    assert message_ids(reader) == ["GOOD1", "GOOD2"]
    assert [r["line"] for r in reader.stats.rejected] == [1]
    assert accounted(reader)


HOSTILE = st.one_of(
    st.sampled_from(
        [pino("NaN"), pino("1e300"), pino("-1e15"), DEEP, "[" * 800, "{" * 700 + "x", "  " + DEEP, "{" + "x" * 79]
    ),
    st.sampled_from(
        [
            '{"time":1700000000000,"n":' + "9" * 5000 + "}",
            '{"messageStubType":2,"messageStubParameters":5,"messageTimestamp":' + "9" * 30 + "}",
            '{"messageStubType":2,"messageStubParameters":"Bad MAC","messageTimestamp":1700000000}',
        ]
    ),
    st.sampled_from([trace_line("X", causes=5), trace_line("X", peer=[1]), trace_line("X", offset=1e12)]),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace").replace("\n", " ").replace("\r", " ")),
    st.integers(min_value=5_000, max_value=50_000).map(lambda n: '{"msg":"' + "9" * n + '"}'),
    st.integers(min_value=5_000, max_value=50_000).map(lambda n: "x" * n),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), HOSTILE), max_size=12))
def test_hostile_lines_never_raise_and_good_lines_survive(mix: list[tuple[bool, str]]) -> None:
    """Good failures mixed with hostile lines: nothing raises, every line is accounted for, every good event survives."""
    lines: list[str] = []
    good: list[str] = []
    for n, (is_good, hostile) in enumerate(mix):
        if is_good:
            good.append(f"G{n}")
            lines.append(pino(str(1700000000000 + n * 1000), f"G{n}"))
        else:
            lines.append(hostile)
    reader = read(lines)
    assert accounted(reader)
    assert reader.stats.lines == len(lines)
    assert set(good) <= set(message_ids(reader))
