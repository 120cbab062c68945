"""The fused loop for pino logs reads every mix of lines exactly as the general path does, yield for yield."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.storm import generate as generate_storm
from sessionmgr.trace.causes import CAUSE_HORIZON
from sessionmgr.trace.fastpath import console_plan, fuses, read_fused
from sessionmgr.trace.lines import ReadContext, ReadError, ReadStats
from sessionmgr.trace.logs import LogReader
from sessionmgr.trace.multiline import WRAP_WIDTHS

SAMPLES = Path(__file__).parent / "samples"


def _storm_lines() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "storm.baileys.log"
        generate_storm(path, errors=40, console_lines=60)
        return path.read_text().splitlines()


#: Lines real tools wrote (tests/samples: pino, pino-pretty, libsignal-node, whatsmeow, collectors' prefixes)
#: and a small storm (bench.storm); the storm's lines are what the fused loop reads, the rest mostly is not.
STORM = _storm_lines()
REAL = sorted({line for path in sorted(SAMPLES.glob("*.log")) for line in path.read_text().splitlines()} | {
    line for path in sorted(SAMPLES.glob("*.jsonl")) for line in path.read_text().splitlines()
})  # fmt: skip
PREFIXES = ["0|bot  | ", "bot-1  | ", "2026-01-05T09:30:00.000Z ", "[pod/bot-7f9/app] ", "\x1b[31m", "  ", "\t", "1,"]
ODD = [
    "", " ", "{", "}", "[", "{}", "[]", "null", '"text"', "{not json}", '{"a":' + "[" * 120 + "]" * 120 + "}",
    '{"level":"warn","time":"2026-01-05T09:30:00Z","message":"zerolog"}', '{"messageStubType":2,"messageStubParameters":["Bad MAC"]}',
    '{"level":50,"msg":"failed to decrypt message","err":{"message":"Bad MAC"}}', '{"level":50,"time":"yesterday","msg":"x"}',
    '{"level":50,"time":1e400,"msg":"failed to decrypt","err":"Bad MAC"}', '{"msg":"failed to decrypt","time":NaN,"err":"x"}',
    '{"level":30,"time":1767344400000,"msg":"opened connection to WA","bot":"b-2"}', "level=50 msg=\"failed to decrypt\"",
    "Session error:Error: No session record Error: No session record", "Closing session: SessionEntry {", "}", "SessionEntry {",
    "  _chains: {", "    at Object.verifyMAC (/x.js:1:1)", "<Buffer 05 aa>", "[12:00:00.000] ERROR (42): failed to decrypt message",
    "    err: {", '      "message": "Bad MAC"', "    }", '{"level":50,', '  "time": 1767344400000,', "}",
]  # fmt: skip


@st.composite
def hostile(draw: st.DrawFn) -> str:
    """A line as a log may hold it: a storm's or a real tool's line, bare or spoiled (prefix, cut, wrap width, CR)."""
    line = draw(st.sampled_from(STORM) | st.sampled_from(REAL) | st.sampled_from(ODD) | st.sampled_from(ODD))
    how = draw(
        st.sampled_from(["bare", "bare", "bare", "bare", "bare", "prefix", "cut", "wrap", "cr", "ansi", "indent"])
    )
    if how == "prefix":
        return draw(st.sampled_from(PREFIXES)) + line
    if how == "cut" and line:
        return line[: draw(st.integers(0, len(line) - 1))]
    if how == "wrap":  # cut at a terminal's width: its first piece, and maybe the rest as its own line
        width = draw(st.sampled_from(sorted(WRAP_WIDTHS)))
        return (line * (width // max(len(line), 1) + 1))[:width] if line else " " * width
    if how == "cr":
        return line + "\r" + draw(st.sampled_from(STORM))
    if how == "ansi":
        return f"\x1b[32m{line}\x1b[39m"
    if how == "indent":
        return "  " + line
    return line


@st.composite
def storm_run(draw: st.DrawFn) -> list[str]:
    """A run of the storm's lines, or a failure block nobody claims until it ages past the horizon (or nearly)."""
    if draw(st.integers(0, 9)) == 0:
        frames = draw(st.integers(CAUSE_HORIZON - 3, CAUSE_HORIZON + 3))
        return [STORM_BLOCK[0], STORM_BLOCK[1], *[STORM_BLOCK[2]] * frames]
    start = draw(st.integers(0, len(STORM) - 1))
    return STORM[start : start + draw(st.integers(1, 40))]


STORM_BLOCK = next(STORM[i : i + 3] for i in range(len(STORM)) if STORM[i].startswith("Failed to decrypt"))
lines_strategy = st.lists(st.one_of(hostile().map(lambda line: [line]), storm_run()), max_size=25).map(
    lambda chunks: [line for chunk in chunks for line in chunk]
)


def read(lines: list[str], *, fused: bool, requested: str | None, session_field: str | None, strict: bool) -> Any:
    """Everything a read shows: each yield with the line last pulled, the end's accounting, or the error raised."""
    stats = ReadStats("bot-1.log")
    ctx = ReadContext("bot-1.log", "bot-1", stats, session_field=session_field, strict=strict)
    pulled = [0]

    def numbered() -> Iterator[tuple[int, str]]:
        for number, line in enumerate(lines, 1):
            pulled[0] = number
            yield number, line

    yields: list[tuple[int, str]] = []
    try:
        reader = LogReader(ctx, requested)
        for located in read_fused(reader, numbered()) if fused and fuses(reader) else reader.read(numbered()):
            yields.append((pulled[0], repr(located)))
    except ReadError as exc:
        yields.append((pulled[0], f"raised {exc}"))
    counters = {name: dict(getattr(stats, name)) for name in ("ignored", "kinds", "prefixes", "times")}
    return yields, counters, stats.rejected, stats.rejected_count


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines_strategy,
    st.sampled_from([None, None, "baileys", "evolution", "libsignal"]),
    st.sampled_from([None, None, "bot"]),
    st.booleans(),
)
def test_fused_reads_as_the_general_path(
    lines: list[str], requested: str | None, session_field: str | None, strict: bool
) -> None:
    """Storm runs mixed with hostile lines: the same events, rejections and line accounting, yielded at the same lines."""
    options: dict[str, Any] = {"requested": requested, "session_field": session_field, "strict": strict}
    assert read(lines, fused=True, **options) == read(lines, fused=False, **options)


def test_a_storm_is_read_by_the_fused_loop_alone() -> None:
    """The storm's console lines are all plain console lines (no line of it falls to the general path)."""
    console = [line for line in STORM if not line.startswith("{")]
    assert console and all(console_plan(line) is not None for line in console)


def test_console_plan_refuses_what_is_not_a_plain_console_line() -> None:
    """A prefix, colours, a record, a header or an unknown text is left to the general path."""
    for line in ["0|bot  | Session error:Error: Bad MAC", "\x1b[31mSession error:x", '{"msg":"x"}', "  {}",
                 "[12:00:00.000] ERROR (42): failed to decrypt message", "hello world", "", "   "]:  # fmt: skip
        assert console_plan(line) is None, line


def test_the_first_line_is_left_to_the_general_path() -> None:
    """A first line that is a CSV header is one (even when a console text): only the general path tests for it."""
    lines = ["Session already closed,Session already open", *STORM[:20]]
    options: dict[str, Any] = {"requested": None, "session_field": None, "strict": False}
    fused = read(lines, fused=True, **options)
    assert fused[1]["ignored"]["csv header"] == 1
    assert fused == read(lines, fused=False, **options)


def test_a_time_too_big_for_a_float_is_rejected_not_raised() -> None:
    """A pino ``time`` of 400 digits (too big for a float) rejects its line, named, on either path; the rest reads."""
    huge = '{"level":50,"time":' + "9" * 400 + ',"msg":"failed to decrypt message","err":"Bad MAC"}'
    options: dict[str, Any] = {"requested": None, "session_field": None, "strict": False}
    fused = read([STORM[0], huge, STORM[0]], fused=True, **options)
    assert [r["line"] for r in fused[2]] == [2] and fused[2][0]["reason"].startswith("time: ")
    assert len(fused[0]) == 2
    assert fused == read([STORM[0], huge, STORM[0]], fused=False, **options)


def test_a_whole_storm_reads_the_same_both_ways() -> None:
    """A storm of a thousand errors (the benchmark's shape): identical reads, fused and general."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "storm.baileys.log"
        generate_storm(path, errors=1000, console_lines=800)
        lines = path.read_text().splitlines()
    options: dict[str, Any] = {"requested": None, "session_field": None, "strict": False}
    fused = read(lines, fused=True, **options)
    assert len(fused[0]) == 1000 + 1  # every error and the connection opening
    assert fused == read(lines, fused=False, **options)
