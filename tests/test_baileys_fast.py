"""Baileys' pino records become the same events, or none, or the same rejection, as before issue 13's fast paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sessionmgr.classify import TEXT_RULES
from sessionmgr.trace.baileys import pino_event
from sessionmgr.trace.codec import TraceError
from sessionmgr.trace.lines import ReadContext, ReadStats
from tests.reference import baileys_pino as reference

_msgs = st.sampled_from([
    "failed to decrypt message", "Failed to decrypt", "decrypted message", "decrypted msg", "connection closed",
    "opened connection to WA", "failure in decrypting message", "stream errored out", "something else", "",
])  # fmt: skip
_texts = st.one_of(st.sampled_from([text for text, _, _ in TEXT_RULES]), st.text(max_size=10))
_any = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=6), st.lists(st.text(max_size=4), max_size=2)
)
_records = st.fixed_dictionaries(
    {
        "msg": st.one_of(_msgs, _msgs, _any),
        "time": st.sampled_from(["ms", "ms", "ms", "iso", "any"]).flatmap(
            lambda form: {
                "ms": st.integers(min_value=1_600_000_000_000, max_value=1_800_000_000_000),
                "iso": st.just("2026-01-02T03:04:05.678Z"),
                "any": _any,
            }[form]
        ),
    },
    optional={
        "level": st.sampled_from([30, 40, 50]),
        "err": st.one_of(
            st.fixed_dictionaries({}, optional={"type": _texts, "message": _texts, "name": _texts, "msg": _texts}),
            _texts,
            _any,
        ),
        "error": st.one_of(_texts, _any),
        "key": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "remoteJid": st.sampled_from(["5511999990000@s.whatsapp.net", "120363@g.us", ""]),
                    "participant": st.sampled_from(["5511888880000@s.whatsapp.net", None]),
                    "id": st.one_of(st.sampled_from(["3EB0ABC", ""]), _any),
                },
            ),
            _any,
        ),
        "messageType": st.one_of(st.sampled_from(["msg", "pkmsg", "skmsg", "other"]), _any),
        "type": st.one_of(st.sampled_from(["msg", "pkmsg"]), _any),
        "params": st.one_of(st.lists(st.sampled_from(["5511777770000@s.whatsapp.net", "x", "Bad MAC"])), _any),
        "trace": st.one_of(st.sampled_from(["Error: Bad MAC\n    at x", "", "SessionError: No sessions"]), _any),
        "from": _any,
        "jid": _any,
        "bot": st.sampled_from(["bot-a", "bot-b"]),
    },
)


def outcome(make: Callable[..., object], *args: Any) -> tuple[str, str]:
    try:
        return "made", repr(make(*args))
    except TraceError as exc:
        return "rejected", str(exc)


@given(_records, st.lists(_texts, max_size=3), st.sampled_from([None, "bot"]))
def test_pino_event_is_the_reference(record: dict[str, Any], causes: list[str], session_field: str | None) -> None:
    """Any record with any causes, the session named or not: the same event (or none) or the same rejection."""
    ctx = ReadContext("bot-1.log", "bot-1", ReadStats("bot-1.log"), session_field=session_field)
    if session_field is not None and "bot" not in record:
        return  # the session field missing is a TraceError raised before anything changed: both raise it
    assert outcome(pino_event, record, causes, ctx) == outcome(reference.pino_event, record, causes, ctx)
