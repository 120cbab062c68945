"""The JSON decoder every reader uses: msgspec in front, the standard library deciding whatever msgspec refuses."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sessionmgr.trace import safejson
from tests import test_hostile_input, test_log_readers, test_readers

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=10**60).flatmap(lambda n: st.sampled_from([n, -n])),  # beyond 64 bits
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
)
# characters JSON is made of, and some it is not, for texts that are almost JSON
_almost = st.text(alphabet=st.sampled_from(list('{}[]":,.-+eE0123456789 \t\n\\uabnrtlsfN\x00\x7f\ud800é')), max_size=30)


def outcome(loads: Callable[[str], Any], text: str) -> tuple[str, object]:
    """What decoding gives: the value's repr (which tells 1 from 1.0 and shows key order), or the error and where."""
    try:
        return "value", repr(loads(text))
    except json.JSONDecodeError as exc:
        return "error", (exc.msg, exc.pos)


def test_the_fast_decoder_is_on() -> None:
    """msgspec is a dependency and exact on big integers, so the fast path is taken."""
    assert safejson.FAST is not None


@given(_values, st.booleans(), st.sampled_from(["", " ", "\n", "\t "]))
@example({"n": [2**64, -(10**40), 0.1, -0.0]}, True, "")  # what orjson would turn into floats
def test_fast_and_stdlib_agree_on_json(value: object, ascii_only: bool, pad: str) -> None:
    """Any JSON document, however written, decodes to the same values, types and key order both ways."""
    text = pad + json.dumps(value, ensure_ascii=ascii_only) + pad
    assert outcome(safejson.loads, text) == outcome(safejson.stdlib_loads, text)


@given(st.dictionaries(st.sampled_from("abc"), _scalars, min_size=1), st.sampled_from("abc"), _scalars)
def test_a_repeated_key_keeps_its_last_value_at_its_first_place(record: dict[str, Any], key: str, last: object) -> None:
    """Duplicate keys (stdlib: last value wins, first position kept) decode the same both ways."""
    text = json.dumps(record)[:-1] + f", {json.dumps(key)}: {json.dumps(last)}}}"
    assert outcome(safejson.loads, text) == outcome(safejson.stdlib_loads, text)


@given(_almost)
def test_fast_and_stdlib_agree_on_almost_json(text: str) -> None:
    """Texts near JSON (NaN, 1e400, lone surrogates, bad escapes, trailing data) give the same value or error."""
    assert outcome(safejson.loads, text) == outcome(safejson.stdlib_loads, text)


@pytest.mark.parametrize(
    "text",
    ["NaN", "-Infinity", "1e400", '"\\ud800"', '"\ud800"', "1" * 5000, "[" * 101 + "]" * 101, "\ufeff{}", "01"],
)
def test_what_msgspec_refuses_is_decided_by_the_stdlib(text: str) -> None:
    """The standard library's answer stands where msgspec refuses: its values (NaN, inf) and its errors."""
    assert outcome(safejson.loads, text) == outcome(safejson.stdlib_loads, text)


def _plain_tests(*modules: object) -> list[Callable[[], None]]:
    """The modules' tests that take no arguments (Hypothesis fills its own)."""
    found = []
    for module in modules:
        for name, test in sorted(vars(module).items()):
            if name.startswith("test_") and callable(test) and not inspect.signature(test).parameters:
                found.append(test)
    return found


@pytest.mark.parametrize(
    "test", _plain_tests(test_hostile_input, test_readers, test_log_readers), ids=lambda t: t.__name__
)
def test_reader_tests_pass_with_the_stdlib_alone(test: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without msgspec every reader test passes as it does with it (same events, rejections and reasons)."""
    monkeypatch.setattr(safejson, "FAST", None)
    test()
