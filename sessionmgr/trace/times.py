"""The times text logs print, read as UTC datetimes, and how much of each time was known.

A full time (ISO-8601, epoch milliseconds, ``2026-01-05 09:30:00.000 +0000``) is
``known``. A time of day alone (pino-pretty's default ``[09:30:00.000]``, whatsmeow's
``15:04:05.000``, zerolog's ``3:04PM``) or a syslog date without a year is
``time of day``: it is placed on a nominal day (1970-01-01, moving to the next day
when the clock goes back by more than twelve hours), so the order and the gaps
are right and the date is not invented. A line with no time is ``unknown``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from sessionmgr.trace.codec import TraceError, parse_time

__all__ = ["KNOWN", "TIME_OF_DAY", "UNKNOWN", "DayRoller", "TimeQuality", "read_time"]

TimeQuality = Literal["known", "time of day", "unknown"]
KNOWN: Final = "known"
TIME_OF_DAY: Final = "time of day"
UNKNOWN: Final = "unknown"
#: The nominal day a time of day is placed on.
NOMINAL_DAY: Final = datetime(1970, 1, 1, tzinfo=UTC)

_CLOCK: Final = re.compile(r"^(\d{1,2}):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?\s*([AP]M)?$", re.IGNORECASE)
_SPACED: Final = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?: ?([+-]\d\d:?\d\d|Z|UTC))?$")
_SYSLOG: Final = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d)$")
_MONTHS: Final = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}


class DayRoller:
    """Places times of day on consecutive days, in the order the log prints them.

    On a dated clock, times of day are placed on the date of the last full time.
    The first time a log prints decides its clock: a log that began with times of
    day stays on the nominal day, and its later full times count by their time of
    day only, so the timeline never jumps decades between two lines.
    """

    __slots__ = ("_base", "_day", "_last", "_last_full", "dated")

    def __init__(self) -> None:
        self._base = NOMINAL_DAY
        self._day = 0
        self._last: float | None = None
        self._last_full: datetime | None = None  # the last full time on a dated clock, read lazily
        #: None until the first time; then whether the log's clock is dated
        self.dated: bool | None = None

    def full(self, at: datetime) -> tuple[datetime, TimeQuality]:
        """A full time read: as it is on a dated clock (later times of day fall on its date), else its time of day."""
        if self.dated is None:
            self.dated = True
        if self.dated:
            self._last_full = at  # the common case (a JSON log) costs nothing more
            return at, KNOWN
        return self.place(_seconds_of_day(at.astimezone(UTC))), TIME_OF_DAY

    def place(self, seconds_of_day: float) -> datetime:
        if self.dated is None:
            self.dated = False
        if self._last_full is not None:
            full = self._last_full.astimezone(UTC)
            self._base = full.replace(hour=0, minute=0, second=0, microsecond=0)
            self._day, self._last, self._last_full = 0, _seconds_of_day(full), None
        if self._last is not None and seconds_of_day < self._last - 12 * 3600:
            self._day += 1  # past midnight
        self._last = seconds_of_day
        return self._base + timedelta(days=self._day, seconds=seconds_of_day)


def _seconds_of_day(at: datetime) -> float:
    return at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6


def read_time(text: str, days: DayRoller) -> tuple[datetime | None, TimeQuality]:
    """A printed time as UTC, and how much of it was known; ``(None, "unknown")`` if it is not a time."""
    text = text.strip()
    if not text:
        return None, UNKNOWN
    if text.isdigit():
        try:  # an epoch; an absurd one (or 5,000 digits, or a superscript digit) is not a time
            return _known(parse_time(int(text)), days)
        except (TraceError, ValueError):
            return None, UNKNOWN
    clock = _CLOCK.match(text)
    if clock:
        hour, minute = int(clock[1]), int(clock[2])
        second = int(clock[3] or 0)
        fraction = float("0." + clock[4]) if clock[4] else 0.0
        if clock[5]:  # time.Kitchen: 3:04PM
            hour = hour % 12 + (12 if clock[5].upper() == "PM" else 0)
        return days.place(hour * 3600 + minute * 60 + second + fraction), TIME_OF_DAY
    spaced = _SPACED.match(text)
    if spaced:
        zone = spaced[3] or "Z"
        text = f"{spaced[1]}T{spaced[2]}{'Z' if zone == 'UTC' else zone}"
    syslog = _SYSLOG.match(text)
    if syslog and syslog[1] in _MONTHS:
        hour, minute, second = (int(p) for p in syslog[3].split(":"))
        return days.place(hour * 3600 + minute * 60 + second), TIME_OF_DAY
    try:
        return _known(parse_time(text), days)
    except TraceError:
        return None, UNKNOWN


def _known(at: datetime, days: DayRoller) -> tuple[datetime, TimeQuality]:
    return days.full(at)
