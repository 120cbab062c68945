"""DistinctCount: exact up to EXACT_LIMIT strings (as strings, then hashes), then a HyperLogLog estimate."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionmgr.distinct import EXACT_LIMIT, RELATIVE_ERROR, SMALL_LIMIT, DistinctCount


def _peers(n: int, prefix: str = "peer") -> list[str]:
    return [f"{prefix}-{i:012x}@s.whatsapp.net" for i in range(n)]


@given(st.lists(st.text(max_size=12), max_size=4 * SMALL_LIMIT))
def test_exact_as_strings_and_as_hashes(items: list[str]) -> None:
    """Below EXACT_LIMIT the count is exactly the number of distinct strings, whether kept as strings or hashes."""
    count = DistinctCount(items)
    assert (len(count), count.estimated) == (len(set(items)), False)


@given(st.lists(st.text(max_size=6), max_size=2 * SMALL_LIMIT), st.lists(st.text(max_size=6), max_size=2 * SMALL_LIMIT))
def test_union_of_exact_counts_is_exact(left: list[str], right: list[str]) -> None:
    """Merging two exact counts (strings or hashes, either way round) gives the exact size of the union."""
    a, b = DistinctCount(left), DistinctCount(right)
    a.update(b)
    assert (len(a), a.estimated, len(b)) == (len(set(left) | set(right)), False, len(set(right)))


def test_the_limit_itself_is_exact_and_one_more_is_estimated() -> None:
    """EXACT_LIMIT distinct strings stay exact; the next distinct one turns the count into an estimate."""
    count = DistinctCount(_peers(EXACT_LIMIT))
    count.add(_peers(1)[0])  # a repeat changes nothing
    assert (len(count), count.estimated) == (EXACT_LIMIT, False)
    count.add("one more")
    assert count.estimated
    assert abs(len(count) - (EXACT_LIMIT + 1)) <= 4 * RELATIVE_ERROR * (EXACT_LIMIT + 1)


@pytest.mark.parametrize("n", [EXACT_LIMIT + 1, 10_000, 100_000])
def test_estimate_within_four_standard_errors(n: int) -> None:
    """Past the limit the estimate is within 4 standard errors (0.81 % each) of the true count."""
    count = DistinctCount(_peers(n))
    assert count.estimated
    assert abs(len(count) - n) <= 4 * RELATIVE_ERROR * n


def test_repeats_do_not_move_an_estimate() -> None:
    """Adding strings already counted leaves an estimate where it was."""
    count = DistinctCount(_peers(5_000))
    before = len(count)
    for peer in _peers(5_000)[::7]:
        count.add(peer)
    assert len(count) == before


def test_same_strings_give_the_same_estimate_in_any_order_and_any_process() -> None:
    """The hash is fixed, not Python's per-process one: neither order nor PYTHONHASHSEED moves an estimate."""
    peers = _peers(3_000)
    assert len(DistinctCount(peers)) == len(DistinctCount(reversed(peers)))
    code = (
        "from sessionmgr.distinct import DistinctCount;"
        "print(len(DistinctCount(f'peer-{i:012x}@s.whatsapp.net' for i in range(3000))))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    assert seen == {str(len(DistinctCount(peers)))}


def test_union_of_exact_counts_past_the_limit_becomes_an_estimate() -> None:
    """Two exact counts whose union passes EXACT_LIMIT merge into an estimate of the union."""
    a = DistinctCount(_peers(1_500, "a"))
    b = DistinctCount(_peers(1_500, "b"))
    a.update(b)
    assert a.estimated and not b.estimated
    assert abs(len(a) - 3_000) <= 4 * RELATIVE_ERROR * 3_000


@pytest.mark.parametrize(("left", "right"), [(50, 4_000), (500, 4_000), (4_000, 50), (4_000, 500), (4_000, 6_000)])
def test_union_with_an_estimate_estimates_the_union(left: int, right: int) -> None:
    """Strings, hashes or estimate into an estimate, and an estimate into either exact form: each estimates the union."""
    shared = _peers(20, "shared")
    a = DistinctCount(_peers(left, "a") + shared)
    b = DistinctCount(_peers(right, "b") + shared)
    b_before = len(b)
    a.update(b)
    union = left + right + len(shared)
    assert a.estimated
    assert abs(len(a) - union) <= 4 * RELATIVE_ERROR * union
    assert len(b) == b_before


def test_merge_equals_counting_everything_in_one() -> None:
    """Merged registers are exactly the registers of one count that saw every string (max per register)."""
    a = DistinctCount(_peers(3_000, "a"))
    b = DistinctCount(_peers(2_000, "b"))
    a.update(b)
    assert len(a) == len(DistinctCount(_peers(3_000, "a") + _peers(2_000, "b")))


def test_copy_is_independent() -> None:
    """A copy counts on its own: adding to it leaves the original as it was, exact or estimated."""
    for n in (10, 1_000, 5_000):
        original = DistinctCount(_peers(n))
        twin = original.copy()
        for peer in _peers(500, "new"):
            twin.add(peer)
        assert len(original) == len(DistinctCount(_peers(n)))
        assert len(twin) > len(original)


def test_repr_marks_an_estimate() -> None:
    """The repr says ≈ before an estimated count and nothing before an exact one."""
    assert repr(DistinctCount(["a"])) == "DistinctCount(1)"
    assert repr(DistinctCount(_peers(5_000))).startswith("DistinctCount(≈")
