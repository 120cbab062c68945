"""Prefixes that process managers and collectors put before each line, and the time some of them carry.

- pm2 (``pm2 logs``): ``0|bot  | `` (Unitech/pm2 lib/API/Log.js prints ``id|name`` padded, then ``| ``);
  with ``--time`` the app line itself starts ``2026-01-05T09:30:00: ``.
- docker compose: ``service-1  | `` (v2; ``service_1`` in v1), with ``-t`` an RFC 3339 time after it.
- docker logs -t, kubectl logs --timestamps: an RFC 3339 time and a space.
- kubectl logs --prefix: ``[pod/name/container] ``; stern: ``pod container `` before a JSON or bracketed line.
- journald/syslog: ``Mar  3 10:21:59 host node[123]: `` (no year), or journalctl -o short-iso.
- CSV exports: an epoch-ms (or ISO) first column, the line quoted CSV-style after it.

Prefixes can stack (compose around a time); at most a few are taken off.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["strip_prefix"]

_MONTH: Final = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_PREFIX: Final = re.compile(
    r"^(?:"
    r"(?P<pm2>\d+\|[^|\n]{1,80}?\s*\| ?)"
    r"|(?P<csv>(?P<csvtime>\d{13}|\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?),(?=.))"
    r"|(?P<journal>(?P<jtime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4}) \S+ [^\s:\[]+(?:\[\d+\])?: )"
    r"|(?P<iso>(?P<isotime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))"
    r":? (?!(?:TRC|DBG|INF|WRN|ERR|FTL|PNC) ))"
    r"|(?P<syslog>(?P<systime>" + _MONTH + r" [ \d]\d \d\d:\d\d:\d\d) \S+ [^\s:\[]+(?:\[\d+\])?: )"
    r"|(?P<kubectl>\[pod/[^\]\s]+\] )"
    r"|(?P<compose>[A-Za-z0-9][\w.-]*\s*\| ?)"
    r"|(?P<stern>[a-z0-9][a-z0-9.-]*-[a-z0-9]+ [a-z0-9][a-z0-9-]* (?=[{\[]))"
    r")"
)
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
_TIME_GROUPS: Final = ("csvtime", "isotime", "systime", "jtime")
#: How many prefixes one line may carry.
_MAX_DEPTH: Final = 3


def strip_prefix(line: str) -> tuple[str, str | None, str | None]:
    """(the line without its prefixes, the time a prefix carried or None, the outermost prefix's kind or None)."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)  # colours kept by a collector (Evolution API, whatsmeow, pino-pretty -c)
    first = line[:1]
    if first == "{" or first == "" or first == " " or first == "\t":
        return line, None, None  # the common cases, decided without a regex
    time: str | None = None
    kind: str | None = None
    for _ in range(_MAX_DEPTH):
        match = _PREFIX.match(line)
        if match is None:
            break
        groups = match.groupdict()
        found = next(name for name in ("pm2", "csv", "journal", "iso", "syslog", "kubectl", "compose", "stern")
                     if groups[name] is not None)  # fmt: skip
        kind = kind or found
        time = time or next((groups[g] for g in _TIME_GROUPS if groups[g]), None)
        line = line[match.end() :]
        if found == "csv":
            line = _unquote_csv(line)
        if line[:1] in ("{", " ", ""):
            break
    return line, time, kind


def _unquote_csv(field: str) -> str:
    if len(field) >= 2 and field[0] == '"' and field.endswith('"'):
        return field[1:-1].replace('""', '"')
    return field
