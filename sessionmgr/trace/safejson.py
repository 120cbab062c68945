"""``json.loads`` with a nesting limit: the one place hostile depth is refused.

The standard parser recurses once per level, so a line nested some hundreds deep
raises ``RecursionError`` (depending on how deep the caller already is). Real log
records are a handful of levels deep; anything past :data:`MAX_DEPTH` is refused
as a :class:`json.JSONDecodeError`, which every reader already turns into a
rejected line with its number and reason.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["MAX_DEPTH", "loads"]

#: The deepest nesting of objects and arrays a line may have.
MAX_DEPTH: Final = 100
_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a whole string (its brackets do not nest), or a bracket


def loads(text: str) -> Any:
    """``json.loads(text)``, refusing nesting deeper than :data:`MAX_DEPTH` before parsing."""
    if text.count("[") + text.count("{") > MAX_DEPTH:  # cheap: most lines cannot be that deep
        _check_depth(text)
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
