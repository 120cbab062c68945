"""logfmt-like ``key=value`` text: a whole line (``level=error time=… msg="…" err.message="…"``) or the
fields after a pino-pretty header's message, turned into the record pino wrote (dotted keys nest)."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from sessionmgr.trace import safejson

__all__ = ["logfmt_fields", "logfmt_record"]

_PAIR: Final = re.compile(r'(?:^|\s)([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')
_LEVELS: Final = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60}


def logfmt_fields(text: str) -> tuple[str, dict[str, Any]]:
    """(the text before the first ``key=value``, the pairs as a nested dict); no pairs: ``(text, {})``."""
    first = _PAIR.search(text)
    if first is None:
        return text, {}
    fields: dict[str, Any] = {}
    for key, raw in _PAIR.findall(text[first.start() :]):
        value: Any = raw
        if raw.startswith('"'):
            try:
                value = safejson.loads(raw)
            except json.JSONDecodeError:
                value = raw.strip('"')
        node = fields
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return text[: first.start()].rstrip(), fields


def logfmt_record(text: str) -> dict[str, Any] | None:
    """A whole logfmt line as a pino record (``level``, ``time``, ``msg``, …), or ``None`` if it is not one."""
    if "msg=" not in text or not text.startswith(("level=", "time=", "ts=", "lvl=")):
        return None
    rest, fields = logfmt_fields(text)
    if rest or "msg" not in fields:
        return None
    level = fields.pop("lvl", None) or fields.get("level")
    if isinstance(level, str):
        fields["level"] = _LEVELS.get(level.lower(), level)
    stamp = fields.pop("ts", None)
    if stamp is not None and "time" not in fields:
        fields["time"] = stamp
    if isinstance(fields.get("time"), str) and fields["time"].isdigit():
        fields["time"] = int(fields["time"])
    return fields
