"""Evolution API's own text logger.

EvolutionAPI/evolution-api src/config/logger.config.ts (Logger.console) prints, with
``console.log`` joining its arguments by spaces:
``[Evolution API] <pid> - <Date.toString() without GMT...>   <TYPE>  [<context>] [<typeof value>] <value>``
(with LOG.COLOR, ``v<version>`` before the pid and ANSI colours around each part,
which ``prefixes`` removes). An object value is printed by ``console.log`` on the
lines after an empty header (Node's util.inspect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import DecryptError

__all__ = ["EvolutionLine", "evolution_event", "parse_evolution"]

_LINE: Final = re.compile(
    r"^\[Evolution API\]\s+(?:v\S+\s+)?(?P<pid>\d+)\s+-\s+(?P<time>\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d)\s+"
    r"(?P<level>LOG|INFO|WARN|ERROR|DEBUG|VERBOSE|DARK)\s+\[(?P<context>[^\]]*)\]\s+\[(?P<type>\w+)\]\s?(?P<value>.*)$"
)


@dataclass(frozen=True, slots=True)
class EvolutionLine:
    """One Evolution API log line: its time (the server's local time, read as UTC), level, context and text."""

    at: datetime
    level: str
    context: str
    value_type: str
    value: str


def parse_evolution(text: str) -> EvolutionLine | None:
    """The line as Evolution API's logger printed it, or ``None``."""
    if not text.startswith("[Evolution API]"):
        return None
    match = _LINE.match(text)
    if match is None:
        return None
    try:
        at = datetime.strptime(match["time"], "%a %b %d %Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:  # shaped like a time but not one (``Xyz Abc 00 0000 99:99:99``): not this logger's line
        return None
    return EvolutionLine(at, match["level"], match["context"], match["type"], match["value"].strip())


def evolution_event(line: EvolutionLine, causes: list[str], session: str, at: datetime) -> DecryptError | None:
    """An error or warning that names a Signal failure, as an event; ``None`` for any other line."""
    signal_layer = "decrypt" in line.value.lower()
    if line.level not in ("ERROR", "WARN") or not classify_texts([line.value], signal_layer=signal_layer).is_crypto:
        return None
    category = classify_texts([line.value, *causes], signal_layer=True)
    return DecryptError(session=session, at=at, error=line.value, causes=tuple(causes), category=category)
