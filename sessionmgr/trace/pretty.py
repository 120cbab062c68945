"""pino-pretty's renderings of pino records, turned back into the record pino wrote.

pino-pretty (pinojs/pino-pretty lib/pretty.js, lib/utils/prettify-*.js) prints a header
``[time] LEVEL (name/pid on host): msg`` and then, by default, one ``    key: value``
line per remaining field, objects as indented JSON and an error's stack as bare
lines under ``"stack":``. With ``--singleLine`` the fields follow the message as one
JSON object (errors still on lines of their own). The time is what ``translateTime``
made of it: epoch ms (``false``), a time of day (the default), a date and time.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from sessionmgr.trace import safejson
from sessionmgr.trace.logfmt import logfmt_fields

__all__ = ["PrettyHeader", "block_fields", "is_field_line", "parse_header"]

_HEADER: Final = re.compile(
    r"^\[(?P<time>[^\]]{1,64})\] (?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL|USERLVL)"
    r"(?: \((?P<context>[^)]*)\))?:(?: (?P<msg>.*))?$"
)
_FIELD: Final = re.compile(r"^    (?P<key>[\w$.-]+): ?(?P<value>.*)$")
_STRING_PAIR: Final = re.compile(r'"([\w$]+)":\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')
_LEVELS: Final = {"TRACE": 10, "DEBUG": 20, "INFO": 30, "WARN": 40, "ERROR": 50, "FATAL": 60}


class PrettyHeader:
    """A pino-pretty header line, parsed."""

    __slots__ = ("fields", "level", "msg", "time")

    def __init__(self, time: str, level: str, msg: str, fields: dict[str, Any]) -> None:
        self.time, self.level, self.msg, self.fields = time, level, msg, fields


def parse_header(text: str) -> PrettyHeader | None:
    """The header, or ``None`` if the line is not one; a single-line layout's trailing JSON becomes fields."""
    match = _HEADER.match(text)
    if match is None:
        return None
    msg = match["msg"] or ""
    fields: dict[str, Any] = {}
    if msg.endswith("}"):
        start = msg.find(" {")
        while start != -1:
            try:
                parsed = safejson.loads(msg[start + 1 :])
            except json.JSONDecodeError:
                start = msg.find(" {", start + 1)
                continue
            if isinstance(parsed, dict):
                fields, msg = parsed, msg[:start]
            break
    elif "=" in msg:
        msg, fields = logfmt_fields(msg)  # a key=value (logfmt-like) single-line layout
    return PrettyHeader(match["time"], match["level"], msg, fields)


def is_field_line(text: str) -> bool:
    """Whether a line continues a pretty block: a ``    key:`` line or deeper (not a stack frame printed alone)."""
    if text.startswith("      "):
        return True
    if not text.startswith("    ") or text.startswith("    at "):
        return False
    return text[4:5] in ("}", "]") or _FIELD.match(text) is not None


def block_fields(lines: list[str]) -> dict[str, Any]:
    """The fields of a pretty block's indented lines: JSON where it parses, else its string pairs."""
    fields: dict[str, Any] = {}
    key: str | None = None
    value: list[str] = []
    for line in lines:
        match = _FIELD.match(line)
        if match is not None:
            if key is not None:
                fields[key] = _value(value)
            key, value = match["key"], [match["value"]]
        elif key is not None:
            value.append(line)
    if key is not None:
        fields[key] = _value(value)
    return fields


def level_number(level: str) -> int:
    """pino's number for a level name pino-pretty printed."""
    return _LEVELS.get(level, 30)


def _value(lines: list[str]) -> Any:
    text = "\n".join(lines)
    try:
        return safejson.loads(text)
    except json.JSONDecodeError:
        pass
    if text.lstrip().startswith("{"):
        # an error object with its stack printed bare: keep the plain fields, which is all a reader needs
        return {k: safejson.loads(v) for k, v in _STRING_PAIR.findall(text) if k != "stack"}
    return text.strip()
