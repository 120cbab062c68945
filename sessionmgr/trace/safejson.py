"""``json.loads`` with a nesting limit, and msgspec's decoder in front of it when installed.

The standard parser recurses once per level, so a line nested some hundreds deep
raises ``RecursionError`` (depending on how deep the caller already is). Real log
records are a handful of levels deep; anything past :data:`MAX_DEPTH` is refused
as a :class:`json.JSONDecodeError`, which every reader already turns into a
rejected line with its number and reason.

Speed: msgspec's untyped decoder (C, about three times as fast as the standard library on log lines) reads a
line first; whenever it refuses one, the standard library reads it again and decides,
so every rejection, its reason and everything the standard library accepts and
msgspec does not (``NaN``, ``1e400``, lone surrogates) is exactly as before. Where
both accept a line they give the same values: integers of any size exactly (orjson
would turn big ones into floats), floats correctly rounded, a repeated key's last
value at its first place. msgspec is a dependency of the package; without it
(``FAST is None``) the standard library alone reads every line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["FAST", "MAX_DEPTH", "loads", "stdlib_loads"]

#: The deepest nesting of objects and arrays a line may have.
MAX_DEPTH: Final = 100
_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a whole string (its brackets do not nest), or a bracket


def _fast_decoder() -> Callable[[str], Any] | None:
    """msgspec's decoder, if installed and exact on what it accepts (an old one might round big integers)."""
    try:
        import msgspec
    except ImportError:
        return None
    decode: Callable[[str], Any] = msgspec.json.Decoder().decode
    probe = '{"n":123456789012345678901234567890,"f":0.1,"k":1,"k":2}'
    return decode if decode(probe) == json.loads(probe) and type(decode(probe)["n"]) is int else None


#: The decoder tried first, or ``None`` when every line goes to the standard library.
FAST: Callable[[str], Any] | None = _fast_decoder()


def loads(text: str) -> Any:
    """``json.loads(text)``, refusing nesting deeper than :data:`MAX_DEPTH` before parsing."""
    if text.count("[") + text.count("{") > MAX_DEPTH:  # cheap: most lines cannot be that deep
        _check_depth(text)
    if FAST is not None:
        try:
            return FAST(text)
        except ValueError:  # msgspec's errors and UnicodeEncodeError are ValueErrors: the stdlib decides below
            pass
    return _stdlib(text)


def stdlib_loads(text: str) -> Any:
    """:func:`loads` by the standard library alone (the reference the fast path is tested against)."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        _check_depth(text)
    return _stdlib(text)


def _stdlib(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # a number of more than 4,300 digits: Python refuses to convert it
        raise json.JSONDecodeError(f"a number too long to read ({str(exc).split(':')[0]})", text, 0) from None


def _check_depth(text: str) -> None:
    level = 0
    for token in _TOKEN.finditer(text):
        char = token.group()
        if char in ("[", "{"):
            level += 1
            if level > MAX_DEPTH:
                raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, token.start())
        elif char in ("]", "}"):
            level -= 1
