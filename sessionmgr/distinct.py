"""How many distinct strings were seen, in memory bounded however many there are.

The statistics count the distinct peers each session had errors with. Kept
as exact sets of peer ids, that memory grew with every new peer for as long
as the manager ran (a 10M-event replay held ~190,000 of them, ~20 MiB).
:class:`DistinctCount` goes through three forms, each at most ~16 KiB:

1. up to :data:`SMALL_LIMIT` strings: the strings themselves, exact;
2. up to :data:`EXACT_LIMIT`: their 64-bit hashes in a sorted array (8 bytes
   each), exact unless two of them collide (below 1.2e-13 at 2,048);
3. past that: a HyperLogLog of ``2**PRECISION`` one-byte registers (16 KiB),
   an estimate with a standard error of :data:`RELATIVE_ERROR` (0.81 %);
   :attr:`DistinctCount.estimated` says so, and the report marks it.

The layout follows Redis' sparse-then-dense HyperLogLog and ClickHouse's
``uniqCombined`` (an array, then a hash table, then HyperLogLog). The
estimator is Ertl's, as Redis' ``hllCount`` uses it (``src/hyperloglog.c``:
``hllSigma``, ``hllTau``; O. Ertl, "New cardinality estimation algorithms for
HyperLogLog sketches", arXiv:1702.01284): no bias tables at any cardinality.

Strings are hashed with a fixed, unkeyed BLAKE2b, never Python's per-process
``hash()``: the same input gives the same count in every run, so reports stay
reproducible.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from functools import lru_cache
from hashlib import blake2b
from typing import Final

__all__ = ["EXACT_LIMIT", "PRECISION", "RELATIVE_ERROR", "SMALL_LIMIT", "DistinctCount"]

#: Distinct strings kept as they are (a peer id with its set slot is ~110 bytes: 128 of them ~14 KiB).
SMALL_LIMIT: Final = 128
#: Distinct strings counted exactly (as hashes, 8 bytes each: 2,048 of them 16 KiB); one more and the count
#: becomes an estimate.
EXACT_LIMIT: Final = 2048
#: log2 of the number of HyperLogLog registers.
PRECISION: Final = 14
#: The estimate's standard error, relative to the true count.
RELATIVE_ERROR: Final = 1.04 / math.sqrt(2**PRECISION)

_M: Final = 2**PRECISION
_Q: Final = 64 - PRECISION  # hash bits left for the rank
_SENTINEL: Final = 1 << _Q  # bounds the rank at Q + 1 when those bits are all zero
_ALPHA_INF: Final = 1 / (2 * math.log(2))


# A storm repeats a few hundred peers tens of thousands of times: remembering their hashes makes an add in the
# hashed form ~4x cheaper (0.4 against 1.6 µs); bounded, so at most ~0.2 MiB.
@lru_cache(maxsize=1024)
def _hash(item: str) -> int:
    return int.from_bytes(blake2b(item.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class DistinctCount:
    """A distinct count of strings: exact up to :data:`EXACT_LIMIT`, a HyperLogLog estimate past it.

    ``len()`` is the count: exact while :attr:`estimated` is false, the
    estimate rounded to an integer once it is true. Once an estimate, always
    an estimate (what was counted is no longer kept).
    """

    __slots__ = ("_hashes", "_registers", "_strings")

    def __init__(self, items: Iterable[str] = ()) -> None:
        # exactly one of the three is not None: the form the count is in now
        self._strings: set[str] | None = set()
        self._hashes: array[int] | None = None  # sorted, no repeats
        self._registers: bytearray | None = None
        for item in items:
            self.add(item)

    @property
    def estimated(self) -> bool:
        """Whether the count is a HyperLogLog estimate rather than exact."""
        return self._registers is not None

    def add(self, item: str) -> None:
        strings = self._strings
        if strings is None:
            self._add_hash(_hash(item))
            return
        strings.add(item)  # the common case: no hashing at all
        if len(strings) > SMALL_LIMIT:
            self._strings = None
            self._hashes = array("Q", sorted({_hash(s) for s in strings}))
            self._check_exact_limit()

    def update(self, other: DistinctCount) -> None:
        """Count the union of this and ``other`` here (``other`` is left as it was)."""
        if other._strings is not None:
            for item in other._strings:
                self.add(item)
        elif other._hashes is not None:
            for h in other._hashes:
                self._add_hash(h)
        else:
            assert other._registers is not None
            self._to_registers()
            mine = self._registers
            assert mine is not None
            # the union's registers are the larger of each pair
            self._registers = bytearray(x if x > y else y for x, y in zip(mine, other._registers, strict=True))

    def copy(self) -> DistinctCount:
        twin = DistinctCount()
        twin._strings = None if self._strings is None else set(self._strings)
        twin._hashes = None if self._hashes is None else array("Q", self._hashes)
        twin._registers = None if self._registers is None else bytearray(self._registers)
        return twin

    def __len__(self) -> int:
        if self._strings is not None:
            return len(self._strings)
        if self._hashes is not None:
            return len(self._hashes)
        return round(self._estimate())

    def __repr__(self) -> str:
        return f"DistinctCount({'≈' if self.estimated else ''}{len(self)})"

    def _add_hash(self, h: int) -> None:
        if self._strings is not None:  # hashes arriving from a merge: this count moves to hashes first
            strings, self._strings = self._strings, None
            self._hashes = array("Q", sorted({_hash(s) for s in strings}))
        hashes = self._hashes
        if hashes is not None:
            at = bisect_left(hashes, h)
            if at == len(hashes) or hashes[at] != h:
                hashes.insert(at, h)
                self._check_exact_limit()
            return
        registers = self._registers
        assert registers is not None
        index = h & (_M - 1)
        rest = (h >> PRECISION) | _SENTINEL
        rank = (rest & -rest).bit_length()  # trailing zeros + 1, at most Q + 1
        if rank > registers[index]:
            registers[index] = rank

    def _check_exact_limit(self) -> None:
        hashes = self._hashes
        if hashes is not None and len(hashes) > EXACT_LIMIT:
            self._to_registers()

    def _to_registers(self) -> None:
        if self._registers is not None:
            return
        if self._strings is not None:
            hashes: Iterable[int] = [_hash(s) for s in self._strings]
        else:
            assert self._hashes is not None
            hashes = self._hashes
        self._strings = self._hashes = None
        self._registers = bytearray(_M)
        for h in hashes:
            self._add_hash(h)

    def _estimate(self) -> float:
        registers = self._registers
        assert registers is not None
        # Ertl's improved raw estimator over the register histogram (Redis hllCount)
        z = _M * _tau((_M - registers.count(_Q + 1)) / _M)
        for k in range(_Q, 0, -1):
            z = (z + registers.count(k)) * 0.5
        z += _M * _sigma(registers.count(0) / _M)
        return _ALPHA_INF * _M * _M / z


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous, z = z, z + x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        y *= 0.5
        previous, z = z, z - (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3
