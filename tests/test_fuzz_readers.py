"""Fuzzing every reader with hostile lines around planted good failures (strategies in tests/fuzzing.py).

Each example asserts: nothing raises, every line is accounted for (lines = events +
ignored + rejected), every planted failure comes out, and no rejection's kind (what
watch logs and labels metrics with) holds a phone number or the plaintext marker.
The number of examples is the Hypothesis profile's (root conftest.py: ci, dev, long).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionmgr.monitoring.followers import reason_kind
from sessionmgr.trace.readers import Reader
from tests.fuzzing import (
    HOSTILE_LINE,
    LOG_RECORDS,
    LOG_START,
    MARKER,
    PHONE,
    SEED_RECORDS,
    TRACE_HEADER,
    TRACE_RECORDS,
    planted,
    tokens_of,
)

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def read(lines: list[str], fmt: str = "auto") -> Reader:
    """Read ``lines`` as one file in ``fmt``, keeping the events on the reader."""
    reader = Reader(f"{PHONE}.log", format=fmt, lines=lines)  # type: ignore[arg-type]
    reader.events = [located.event for located in reader]  # type: ignore[attr-defined]
    return reader


def check(reader: Reader, lines: list[str], tokens: set[str]) -> None:
    """The four properties every fuzzed read must have."""
    s = reader.stats
    assert s.lines == len(lines)
    assert s.events + sum(s.ignored.values()) + s.rejected_count == s.lines, s
    missing = tokens - tokens_of(reader.events)  # type: ignore[attr-defined]
    assert not missing, f"planted failures lost: {sorted(missing)} in {[line[:200] for line in lines]}"
    for row in s.rejected:
        kind = reason_kind(row["reason"])
        assert PHONE not in kind and MARKER not in kind, row


@FUZZ
@given(planted(LOG_RECORDS, HOSTILE_LINE))
def test_operators_logs_in_auto_keep_every_planted_failure(case: tuple[list[str], set[str]]) -> None:
    """pino, pino-pretty, whatsmeow, zerolog and Evolution records (prefixed, CRLF, coloured) amid hostile lines."""
    lines, tokens = case
    lines = [LOG_START, *lines]  # the file's first line says what it is, as a Baileys log's does
    check(read(lines), lines, tokens)


@FUZZ
@given(st.sampled_from(sorted(LOG_RECORDS)).flatmap(lambda kind: planted({kind: LOG_RECORDS[kind]}, HOSTILE_LINE)))
def test_each_log_format_alone_keeps_every_planted_failure(case: tuple[list[str], set[str]]) -> None:
    """One kind of operators' log at a time (the file's guess is that kind) amid hostile lines."""
    lines, tokens = case
    lines = [LOG_START, *lines]
    check(read(lines), lines, tokens)


@FUZZ
@given(planted(SEED_RECORDS, HOSTILE_LINE))
def test_seed_format_keeps_every_planted_failure(case: tuple[list[str], set[str]]) -> None:
    """The seed's entries, on one line or several, amid hostile lines (unclosed entries among them)."""
    lines, tokens = case
    check(read(lines, "seed"), lines, tokens)


@FUZZ
@given(planted(TRACE_RECORDS, HOSTILE_LINE))
def test_canonical_trace_keeps_every_planted_failure(case: tuple[list[str], set[str]]) -> None:
    """Canonical trace lines after the header amid hostile lines (ill-typed fields among them)."""
    lines, tokens = case
    lines = [TRACE_HEADER, *lines]
    check(read(lines, "trace"), lines, tokens)


@FUZZ
@given(st.lists(HOSTILE_LINE | HOSTILE_LINE.map(lambda line: "   " + line), max_size=12), st.sampled_from(
    ["auto", "trace", "seed", "baileys", "pino-pretty", "libsignal", "whatsmeow", "evolution"]
))  # fmt: skip
def test_hostile_lines_in_any_format_never_raise_and_are_all_accounted_for(lines: list[str], fmt: str) -> None:
    """Only hostile lines (indented ones too), read in any --format: no exception, every line accounted for."""
    check(read(lines, fmt), lines, set())
