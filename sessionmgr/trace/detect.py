"""Which format a log is in, guessed once from its first lines (replay and watch both ask here)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

from sessionmgr.trace.lines import open_text

__all__ = ["DETECT_LINES", "FORMATS", "Format", "detect_format", "detect_path"]

Format = Literal["auto", "trace", "baileys", "seed"]
FORMATS: Final = ("auto", "trace", "baileys", "seed")
#: How many lines a guess looks at.
DETECT_LINES: Final = 20
_SEED_LEVEL: Final = re.compile(r"\[(ERROR|WARN|INFO|DEBUG)\]")


def detect_format(first_lines: Iterable[str]) -> Format:
    """Guess the format from the first lines; ``baileys`` for JSON logs, ``seed`` for the seed's."""
    for line in first_lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and str(record.get("schema", "")).startswith("sessionmgr.trace/"):
                return "trace"
            if isinstance(record, dict) and ("level" in record or "msg" in record):
                return "baileys"
        if "Erro de criptografia WhatsApp" in text or _SEED_LEVEL.match(text):
            return "seed"
    return "baileys"


def detect_path(path: str | Path, requested: Format = "auto") -> Format:
    """The format to read a file in: as asked, or guessed from what it holds (``baileys`` if nothing yet)."""
    if requested != "auto":
        return requested
    try:
        with open_text(path) as handle:
            head = [line for _, line in zip(range(DETECT_LINES), handle, strict=False)]
    except FileNotFoundError:
        return "baileys"
    return detect_format(head)
