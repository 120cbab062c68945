"""Numbers and times as a person reads them: "7 min 45 s", "1 unhealthy spell", "12:03:55"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["Clock", "human_duration", "percent", "plural"]

# (unit seconds, name): the two largest units that apply are shown.
_UNITS: Final = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def human_duration(seconds: float | None) -> str:
    """``465.155`` -> ``"7 min 45 s"``; under ten seconds keeps a decimal (``"2.5 s"``); ``None`` -> ``"n/a"``."""
    if seconds is None:
        return "n/a"
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = round(seconds)
    parts: list[str] = []
    for size, name in _UNITS:
        if whole >= size or (not parts and size == 1):
            count, whole = divmod(whole, size)
            if count or parts:
                parts.append(f"{count} {name}")
        if len(parts) == 2:
            break
    shown = [p for p in parts if not p.startswith("0 ")]
    return " ".join(shown)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "spell")`` -> ``"1 spell"``; ``plural(3, "spell")`` -> ``"3 spells"``; thousands grouped."""
    word = noun if count == 1 else (many or noun + "s")
    return f"{count:,} {word}"


def percent(ratio: float | None, digits: int = 2) -> str:
    """``0.999088`` -> ``"99.91 %"``; ``None`` -> ``"n/a"``."""
    return "n/a" if ratio is None else f"{100 * ratio:.{digits}f} %"


class Clock:
    """Turns a report's offsets (seconds from its origin) into wall-clock times.

    A report's ``period`` gives the wall time of its last event and the
    seconds from the origin to it, so the origin's wall time is their difference.
    """

    def __init__(self, period: dict[str, object]) -> None:
        last, seconds = period.get("to"), period.get("seconds")
        self.origin: datetime | None = None
        if isinstance(last, str) and isinstance(seconds, int | float):
            self.origin = parse_iso(last) - timedelta(seconds=float(seconds))
        self.span = float(seconds) if isinstance(seconds, int | float) else 0.0

    def at(self, offset: float) -> datetime | None:
        return None if self.origin is None else self.origin + timedelta(seconds=offset)

    def offset(self, iso: str) -> float | None:
        """Seconds from the origin to the ISO time ``iso``."""
        return None if self.origin is None else (parse_iso(iso) - self.origin).total_seconds()

    def label(self, offset: float, *, seconds: bool = True) -> str:
        """``"12:03:55"`` (the clock time at ``offset``), with the date when it is not the run's first day."""
        at = self.at(offset)
        if at is None:
            return f"+{human_duration(offset)}"
        if self.origin is not None and at.date() != self.origin.date():
            return at.strftime("%b %d %H:%M:%S" if seconds else "%b %d %H:%M")
        return at.strftime("%H:%M:%S" if seconds else "%H:%M")

    def full(self, offset: float) -> str:
        """``"2026-01-01 12:03:55 UTC"``: a tooltip's exact time."""
        at = self.at(offset)
        return f"+{offset:.0f} s" if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 time as the report writes it (``...Z``), as an aware UTC datetime."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
