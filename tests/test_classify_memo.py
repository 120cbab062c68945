"""Memoised classification: the same answer as classifying afresh, with a cache that stays bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sessionmgr.classify import MEMO_SIZE, MEMO_TEXT_LIMIT, TEXT_RULES, _classify, _memoised, classify_texts

_RULE_TEXTS = [text for text, _, _ in TEXT_RULES]
# rule texts in any case, glued to noise, and empty strings (which classification skips)
_text = st.one_of(
    st.sampled_from(_RULE_TEXTS),
    st.sampled_from(_RULE_TEXTS).map(str.upper),
    st.builds("{}{}{}".format, st.text(max_size=8), st.sampled_from(_RULE_TEXTS), st.text(max_size=8)),
    st.just(""),
    st.text(max_size=20),
)


@given(st.lists(st.lists(_text, max_size=4), min_size=1, max_size=6), st.booleans())
def test_memoised_classification_is_classification(batches: list[list[str]], signal_layer: bool) -> None:
    """Every call, first or repeated, gives what the regex pass over the non-empty texts gives."""
    for texts in [*batches, *batches]:  # the second round is answered from the cache
        fresh = _classify(tuple(t for t in texts if t), signal_layer)
        assert classify_texts(texts, signal_layer=signal_layer) is fresh


def test_empty_texts_share_a_key_with_their_absence() -> None:
    """An empty text is not read by classification, so it does not make a different key."""
    _memoised.cache_clear()
    classify_texts(["Bad MAC", "", "SessionError"])
    classify_texts(["Bad MAC", "SessionError"])
    assert _memoised.cache_info().hits == 1


def test_the_flag_is_part_of_the_key() -> None:
    """An unrecognised text is decrypt_failed on the Signal layer and not_crypto elsewhere, cached or not."""
    for _ in range(2):
        assert classify_texts(["something odd"], signal_layer=True).value == "decrypt_failed"
        assert classify_texts(["something odd"], signal_layer=False).value == "not_crypto"


def test_the_cache_is_bounded_by_entries() -> None:
    """More distinct texts than the cache holds leave it at its size."""
    _memoised.cache_clear()
    for i in range(MEMO_SIZE + 50):
        classify_texts([f"Bad MAC {i}"])
    assert _memoised.cache_info().currsize == MEMO_SIZE


def test_long_texts_are_never_remembered() -> None:
    """A text longer than the limit is classified afresh each time and never kept (a hostile log cannot fill memory)."""
    _memoised.cache_clear()
    long = "x" * MEMO_TEXT_LIMIT + " Bad MAC"
    assert classify_texts([long]).value == "bad_mac"
    assert classify_texts([long]).value == "bad_mac"
    assert _memoised.cache_info().currsize == 0
