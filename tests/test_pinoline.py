"""A pino line decoded into its read fields tells of the same event as the dict path, or leaves the line to it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionmgr.trace import safejson
from sessionmgr.trace.baileys import pino_event
from sessionmgr.trace.codec import TraceError
from sessionmgr.trace.lines import ReadContext, ReadStats
from sessionmgr.trace.logs import _is_failure
from sessionmgr.trace.pinoline import MAX_TYPED_CHARS, decode_line, is_failure, line_event
from tests.test_baileys_fast import _records, _texts

#: Raw text spliced into a record as one more field: what JSON libraries disagree on, and what they agree on.
_EXTRA = st.sampled_from([
    "", ',"pid":4242', ',"pid":1e400', ',"pid":NaN', ',"pid":' + "9" * 4400, ',"msg":"failed to decrypt message"',
    ',"time":"2026-01-02T03:04:05Z"', ',"time":1.5e12', ',"key":null', ',"key":[1]', ',"err":{}', ',"error":0',
    ',"messageStubType":2', ',"x":"\\ud800"', ',"x":[' * 3 + "]" * 3, ',"from":"5511@s.whatsapp.net"', ',"jid":""',
    ',"trace":"Error: Bad MAC\\n  at x"', ',"msg":"failure in decrypting message"', ',"time":99999999999999999999', ',"time":100000000000', ',"time":100000000001',
])  # fmt: skip


_FALSY: list[object] = [None, "", 0, False, {}, []]
_ERRS = [
    {"type": "Error", "message": "Bad MAC"}, {"msg": "Bad MAC"}, {"name": "SessionError", "message": ""},
    {"message": "", "msg": "No session record", "name": "E"}, {"stack": "Error: x"}, {"type": "", "name": "N"},
    {"message": 0, "type": ["x"]}, {"message": None, "msg": "x", "type": None, "name": ""},
]  # fmt: skip
_JIDS = ["5511999990000@s.whatsapp.net", "120363@g.us"]
#: Records of the storm's shape where every field read is absent, null, falsy or set: where UNSET and None part.
_SHAPES = st.fixed_dictionaries(
    {
        "msg": st.sampled_from(["failed to decrypt message", "decrypted message", "connection closed", "hello"]),
        "time": st.integers(1_600_000_000_000, 1_800_000_000_000),
    },
    optional={
        "err": st.sampled_from([*_FALSY, "Bad MAC", *_ERRS]),
        "error": st.sampled_from([*_FALSY, "No session record"]),
        "key": st.fixed_dictionaries(
            {},
            optional={name: st.sampled_from([*_FALSY, *_JIDS, "3EB0A"]) for name in ("participant", "remoteJid", "id")},
        ),
        "from": st.sampled_from([*_FALSY, *_JIDS, *_JIDS]),
        "jid": st.sampled_from([*_FALSY, *_JIDS[::-1], *_JIDS]),
        "params": st.sampled_from([*_FALSY, _JIDS, ["x"]]),
        "messageType": st.sampled_from([*_FALSY, "msg", "pkmsg", "other"]),
        "type": st.sampled_from([*_FALSY, "skmsg"]),
    },
)


def outcome(make: Any, *args: Any) -> tuple[str, str]:
    try:
        return "made", repr(make(*args))
    except TraceError as exc:
        return "rejected", str(exc)


@settings(max_examples=400)
@given(_records | _SHAPES, st.lists(_EXTRA, max_size=3), st.lists(_texts, max_size=2))
def test_typed_line_tells_what_the_dict_path_tells(record: dict[str, Any], extra: list[str], causes: list[str]) -> None:
    """Any record, with fields spliced in raw (repeated keys, odd numbers): the same event, or the dict path reads it."""
    raw = json.dumps(record, separators=(",", ":"))[:-1] + "".join(extra) + "}"
    line = decode_line(raw)
    if line is None:
        return  # left to the general path: nothing to compare
    ctx = ReadContext("bot-1.log", "bot-1", ReadStats("bot-1.log"))
    decoded = safejson.loads(raw)  # what the general path reads (it must read the line: msgspec did)
    assert isinstance(decoded, dict) and "messageStubType" not in decoded
    assert is_failure(line) == _is_failure(decoded)
    assert outcome(line_event, line, causes, "bot-1") == outcome(pino_event, decoded, causes, ctx)


def test_what_is_left_to_the_general_path() -> None:
    """A logged message, an old failure without err, a non-integer time, a huge number, an over-long line: None."""
    base = '{"level":50,"time":1767344400000,"msg":"failed to decrypt message","err":"Bad MAC"'
    assert decode_line(base + "}") is not None
    for tail in [',"messageStubType":2}', ',"pid":' + "9" * 4400 + "}", ',"time":"2026-01-02T03:04:05Z"}', ',"key":1}']:
        assert decode_line(base + tail) is None, tail
    assert decode_line('{"time":1767344400000,"msg":"failure in decrypting message","trace":"Error: Bad MAC"}') is None
    assert decode_line(base + ',"x":"' + "a" * MAX_TYPED_CHARS + '"}') is None
