"""Trace lines decoded by msgspec against their event class give what the generic path gives, line for line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionmgr.trace import typed
from sessionmgr.trace.codec import TraceError, decode_event, decode_offset
from sessionmgr.trace.readers import Reader
from tests.test_trace_decode_fast import _records

HEADER = '{"schema":"sessionmgr.trace/1","origin":"2026-01-02T03:04:05Z"}'


def _line(record: dict[str, Any], twist: str, extra: object) -> str:
    """A record as a trace line, perhaps with a key repeated, a header's key, or spaces."""
    text = json.dumps(record)
    if twist == "repeat" and record:
        key = next(iter(record))
        return text[:-1] + f", {json.dumps(key)}: {json.dumps(extra)}}}"
    if twist == "schema":
        return text[:-1] + (', "schema": null}' if record else '"schema": null}')
    if twist == "spaced":
        return json.dumps(record, indent=None, separators=(" , ", " : "))
    return text


_lines = st.builds(_line, _records, st.sampled_from(["plain", "plain", "repeat", "schema", "spaced"]), st.integers())


def read(lines: list[str]) -> tuple[list[str], dict[str, Any]]:
    reader = Reader("t.trace.jsonl", lines=[HEADER, *lines])
    located = [repr(item) for item in reader]
    return located, {**reader.stats.to_dict(), "kept": reader.stats.rejected}


@given(st.lists(_lines, max_size=8))
def test_a_trace_reads_the_same_with_and_without_typed_decoding(lines: list[str]) -> None:
    """Events, offsets, line numbers, rejections and their reasons: identical either way."""
    fast = read(lines)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typed, "DECODE", None)
        generic = read(lines)
    assert fast == generic


@given(_lines)
def test_a_typed_line_is_the_generic_event(text: str) -> None:
    """Whatever typed decoding accepts, the generic decoder accepts too, as the same event and offset."""
    decoded = typed.decode_line(text)
    if decoded is None:
        return
    record = json.loads(text)
    assert "schema" not in record
    try:
        generic = decode_event(record), decode_offset(record)
    except TraceError as exc:  # pragma: no cover - the assertion's message when the property fails
        raise AssertionError(f"typed decoding accepted a line the generic path rejects: {exc}") from None
    assert repr(decoded) == repr(generic)


def test_typed_decoding_takes_the_usual_lines() -> None:
    """The lines a simulation writes are decoded the typed way (the fast path is not silently off)."""
    line = (
        '{"t":"2026-01-02T03:04:05.678Z","session":"bot-1","kind":"decrypt_error","peer":"p","error":"Bad MAC",'
        '"message_type":"msg","category":"bad_mac","offset":12.5}'
    )
    decoded = typed.decode_line(line)
    assert decoded is not None
    assert decoded[1] == 12.5
    assert repr(decoded[0]) == repr(decode_event(json.loads(line)))


@pytest.mark.parametrize(
    "line",
    [
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","offset":NaN}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","offset":1e400}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","offset":4e8}',
        '{"t":"2026-01-02T03:04:05Z","session":"","kind":"decrypt_ok"}',
        '{"t":true,"session":"s","kind":"decrypt_ok"}',
        '{"t":"yesterday","session":"s","kind":"decrypt_ok"}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","peer":5}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_error","category":"nope"}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","kind":"decrypt_error"}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"connection"}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","schema":"sessionmgr.trace/1"}',
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","x":' + "[" * 101 + "]" * 101 + "}",
        '{"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok","stray":1}',
        '{"x":' + "[" * 1500 + "]" * 1500 + ',"t":"2026-01-02T03:04:05Z","session":"s","kind":"decrypt_ok"}',
    ],
)
def test_lines_typed_decoding_leaves_to_the_generic_path(line: str) -> None:
    """Bad values, unknown categories, clashing kinds, missing fields, a header's key, any unknown key, depth: not typed."""
    assert typed.decode_line(line) is None
