"""Which format a log is in, guessed once from its first lines (replay and watch both ask here)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal, cast

from sessionmgr.trace import safejson
from sessionmgr.trace.lines import open_text
from sessionmgr.trace.logs import LOG_FORMATS, line_kind

__all__ = ["DETECT_LINES", "FORMATS", "Format", "detect_format", "detect_path", "main_kind"]

Format = Literal["auto", "trace", "seed", "baileys", "pino-pretty", "libsignal", "whatsmeow", "evolution"]
#: Every format by the name ``--format`` takes: the canonical trace, the seed's, and the operators' logs.
FORMATS: Final = ("auto", "trace", "seed", *LOG_FORMATS)
#: How many lines a guess looks at.
DETECT_LINES: Final = 20
_SEED_LEVEL: Final = re.compile(r"\[(ERROR|WARN|INFO|DEBUG)\]")


def detect_format(first_lines: Iterable[str]) -> Format:
    """Guess the format from the first lines: ``trace``, ``seed``, else the log kind most of them are.

    Nothing recognisable is guessed ``baileys``. An operators' log is read line by line
    whatever the guess (auto), so a guess only names the file's main format.
    """
    lines = list(first_lines)
    whole = _whole_file_format(lines)
    if whole is not None:
        return whole
    kinds = Counter(kind for kind in map(line_kind, lines) if kind is not None)
    return cast(Format, main_kind(kinds) or "baileys")


def main_kind(kinds: Counter[str]) -> str | None:
    """The kind most records are, libsignal's console counting only when alone (it accompanies the others)."""
    others = Counter({kind: n for kind, n in kinds.items() if kind != "libsignal" and n > 0})
    if others:
        return others.most_common(1)[0][0]
    return "libsignal" if kinds.get("libsignal") else None


def _whole_file_format(first_lines: list[str]) -> Format | None:
    for line in first_lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            try:
                record = safejson.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and str(record.get("schema", "")).startswith("sessionmgr.trace/"):
                return "trace"
            if isinstance(record, dict) and ("level" in record or "msg" in record):
                return None  # an operators' log
        if "Erro de criptografia WhatsApp" in text or (_SEED_LEVEL.match(text) and line_kind(text) is None):
            return "seed"  # (a bracketed level alone is also go-libsignal's and whatsmeow's)
    return None


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
