"""The fused loop for canonical traces reads every mix of lines exactly as the general path does, yield for yield."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionmgr.trace import tracepath, typed
from sessionmgr.trace.canonical import TraceLines
from sessionmgr.trace.lines import Located, ReadError
from sessionmgr.trace.readers import Reader
from tests.test_trace_decode_fast import _records

HEADER = '{"schema":"sessionmgr.trace/1","origin":"2026-01-02T03:04:05Z"}'
GOOD = (
    '{"t":"2026-01-02T03:04:05.678Z","session":"bot-1","kind":"decrypt_error","peer":"p","error":"Bad MAC",'
    '"message_type":"msg","category":"bad_mac","offset":12.5}'
)
OK = '{"t":"2026-01-02T03:04:05.002Z","session":"bot-195","kind":"decrypt_ok","peer":"peer-1","message_type":"msg"}'
#: times that look like a trace's but are not all read alike: a Z that is the date's separator,
#: a lowercase z, a second Z, an offset, none, a date alone, the week form, 65 characters, epochs
TIMES = [
    "2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05Z", "2026-01-02Z03:04:05Z", "2026-01-02T03:04:05z",
    "2026-01-02T03:04:05ZZ", "2026-01-02T03:04Z", "2026-01-02Z", "Z", "", "2026-01-02T03:04:05+02:00",
    "2026-01-02T03:04:05", "2026-01-02", "2026-W01-1T00:00Z", "2026-01-02T03:04:05." + "1" * 44 + "Z",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:00-01:00", 1767323045678, 1767323045.5,
    -1, 10**20, True, None,
]  # fmt: skip
#: offsets: in range, at and past the ten-year edge, whole, huge, and values that are not numbers
OFFSETS = [0, 0.0, 12.5, -3.25, 315576000.0, 315576000.5, -315576000.0, 315576001, 10**30, 1e300, "1", True, None]
ODD = [
    "", " ", "\t", "{", "}", "[]", "null", "{}", "{not json}", HEADER, '{"schema":"other/1"}', '{"schema":null}',
    '{"t":' + "[" * 150 + "]" * 150 + ',"kind":"decrypt_ok","session":"s"}',
    '{"t":' + "[" * 1500 + "]" * 1500 + ',"kind":"decrypt_ok","session":"s"}',
    '{"kind":"decrypt_ok","session":"s","t":"2026-01-02T03:04:05Z","x":' + "[" * 101 + "]" * 101 + "}",
    OK.replace('"kind"', '"stray":1,"kind"'), OK.replace("{", '{"kind":"decrypt_error",', 1), "  " + OK, OK + " ",
    OK.replace('"msg"', '"msg","offset":NaN'), OK.replace('"msg"', '"msg","offset":Infinity'), OK[:-1] + ',"schema":1}',
    OK.replace("bot-195", ""), OK.replace('"bot-195"', "5"), OK.replace("decrypt_ok", "nonsense"), "\ufeff" + OK,
    GOOD.replace("bad_mac", "nope"), GOOD.replace('"Bad MAC"', "[1]"), GOOD.replace(',"offset":12.5', ',"causes":["a"]'),
]  # fmt: skip


def _timed(template: str, t: object, offset: object) -> str:
    record = json.loads(template)
    record["t"] = t
    if offset is None:
        record.pop("offset", None)
    else:
        record["offset"] = offset
    return json.dumps(record, separators=(",", ":"))


_lines = st.one_of(
    st.just(OK),
    st.just(GOOD),
    st.builds(_timed, st.sampled_from([OK, GOOD]), st.sampled_from(TIMES), st.sampled_from(OFFSETS)),
    _records.map(lambda record: json.dumps(record, separators=(",", ":"))),
    st.sampled_from(ODD),
    st.text(max_size=12),
)
_ending = st.sampled_from(["", "\n", "\n", "\r\n", "\r"])


@st.composite
def traces(draw: st.DrawFn) -> list[str]:
    """A trace's lines, line endings on: mostly a header first, sometimes none, a late one or two."""
    body = draw(st.lists(st.tuples(_lines, _ending), max_size=12))
    lines = [text + ending for text, ending in body]
    where = draw(st.sampled_from(["first", "first", "first", "none", "anywhere"]))
    if where == "first":
        lines.insert(0, HEADER + "\n")
    elif where == "anywhere":
        lines.insert(draw(st.integers(0, len(lines))), HEADER + "\n")
    return lines


def read(lines: list[str], **options: Any) -> list[Any]:
    """What a Reader yields, and its accounting as it stood at each yield and at the end (or where strict stopped)."""
    reader = Reader("t.trace.jsonl", lines=lines, **options)
    seen: list[Any] = []
    try:
        for located in reader:
            stats = reader.stats
            seen.append(
                (repr(located), stats.lines, stats.events, stats.failures, stats.rejected_count, reader.bytes_read)
            )
    except ReadError as exc:
        seen.append(("strict", str(exc)))
    seen.append(({**reader.stats.to_dict(), "kept": reader.stats.rejected}, reader.bytes_read, reader._head))
    return seen


def both(lines: list[str], **options: Any) -> tuple[list[Any], list[Any]]:
    fused = read(lines, **options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracepath, "FUSED", False)
        general = read(lines, **options)
    return fused, general


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(traces(), st.sampled_from(["auto", "trace"]), st.booleans())
def test_the_fused_loop_reads_any_trace_as_the_general_path_does(lines: list[str], fmt: str, strict: bool) -> None:
    """Events, offsets, line numbers, rejections and reasons, counts at every yield, strict stops: all identical."""
    fused, general = both(lines, format=fmt, strict=strict)
    assert fused == general


@given(traces())
def test_without_msgspec_the_fused_loop_still_reads_as_the_general_path(lines: list[str]) -> None:
    """With typed decoding off, every line goes the generic way in both loops, alike."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typed, "DECODE", None)
        fused, general = both(lines, format="trace")
    assert fused == general


def test_the_fused_loop_takes_the_usual_lines() -> None:
    """A trace's usual lines are read by the fused loop, not handed to the generic decoder (the fast path is on)."""
    calls: list[int] = []
    reader = Reader("t.trace.jsonl", lines=[HEADER, OK, GOOD], format="trace")
    read_line = TraceLines.read

    def counted(self: TraceLines, number: int, text: str) -> Located | None:
        calls.append(number)
        return read_line(self, number, text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TraceLines, "read", counted)
        located = list(reader)
    assert calls == [1]  # the header only
    assert [item.line for item in located] == [2, 3] and located[1].offset == 12.5
    assert reader.stats.events == 2 and reader.stats.failures == 1


def test_a_z_as_the_dates_separator_is_rejected_by_both_paths() -> None:
    """fromisoformat reads "2026-01-02Z03:04:05Z" (any separator); parse_time does not: the line is rejected."""
    fused, general = both([HEADER, _timed(OK, "2026-01-02Z03:04:05Z", None)], format="trace")
    assert fused == general
    assert "time: not ISO-8601" in fused[-1][0]["kept"][0]["reason"]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(traces(), st.integers(0, 400))
def test_a_cut_gzip_trace_is_read_alike_up_to_the_damage(lines: list[str], cut: int) -> None:
    """A .gz cut short: the same lines read, then the same rejection of the unreadable rest, from a file."""
    data = gzip.compress("".join(lines).encode())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.trace.jsonl.gz"
        path.write_bytes(data[: max(len(data) - cut, 10)])
        outcomes = []
        for fused in (True, False):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(tracepath, "FUSED", fused)
                reader = Reader(path)
                located = [repr(item) for item in reader]
                outcomes.append((located, reader.stats.to_dict(), reader.stats.rejected, reader.damaged))
    assert outcomes[0] == outcomes[1]
