"""Streaming readers for captured logs: one :class:`Reader` per input, whatever its format.

The whole-file formats live in a module each (``canonical``, ``seed``; a canonical
trace is read by ``tracepath``'s fused loop, ``canonical`` for the lines it leaves); operators'
logs, however they mix, are read line by line by ``logs`` (with ``baileys``,
``pretty``, ``golang``, ``libsignal_console`` and ``prefixes`` for the kinds of line);
the guess is made in ``detect``; the line accounting in ``lines``. This module
opens the input, picks the parser and counts what it yields.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from sessionmgr.events import DecryptError
from sessionmgr.trace import tracepath
from sessionmgr.trace.canonical import read_trace
from sessionmgr.trace.detect import DETECT_LINES, FORMATS, Format, detect_format, main_kind
from sessionmgr.trace.fastpath import fuses, read_fused
from sessionmgr.trace.grep import grep
from sessionmgr.trace.lines import DAMAGE, Located, NumberedLines, Parse, ReadContext, ReadError, ReadStats, open_text
from sessionmgr.trace.logs import FORMAT_KINDS, LogReader
from sessionmgr.trace.seed import read_seed

__all__ = [
    "FORMATS", "PARSERS", "Format", "Located", "ReadError", "ReadStats", "Reader", "detect_format", "merge",
    "open_text",
]  # fmt: skip

#: The whole-file formats' parsers; every other format is an operators' log, read by :class:`LogReader`.
PARSERS: Final[dict[str, Parse]] = {"trace": read_trace, "seed": read_seed}


class Reader:
    """Reads one file (or an iterable of lines) into :class:`Located` events, streaming.

    ``session`` names the session for formats that do not carry one (a Baileys
    log is one session: by default the file's name without extensions);
    ``session_field`` names a JSON field that carries it instead.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: Format = "auto",
        session: str | None = None,
        session_field: str | None = None,
        strict: bool = False,
        lines: Iterable[str] | None = None,
        guessed: bool = False,
    ) -> None:
        self.path = str(path)
        self.requested: Format = format
        self.session = session or Path(self.path).name.split(".")[0]
        self.session_field = session_field
        self.strict = strict
        #: ``format`` is a guess (watch guesses before a live file has lines): read every kind of log line
        self.guessed = guessed
        # a one-shot iterator (a followed file) is streamed; anything else is kept to re-read
        self._lines: Iterable[str] | None = lines if lines is None or isinstance(lines, Iterator) else list(lines)
        self.stats = ReadStats(self.path)
        self.bytes_read = 0
        self._head: list[str] = []  # the first lines, to name the format that fits when the asked one read nothing
        #: why the input stopped early (a truncated or corrupt ``.gz``); the events before it were read
        self.damaged: str | None = None

    def detect(self) -> Format:
        """The format this input is in (reading only its first lines)."""
        if self.requested != "auto":
            return self.requested
        if isinstance(self._lines, Iterator):
            return "baileys"  # a live stream cannot be peeked without consuming it
        if self._lines is not None:
            return detect_format(list(self._lines)[:DETECT_LINES])
        with open_text(self.path) as handle:
            head = [line for _, line in zip(range(DETECT_LINES), _readable(handle), strict=False)]
        return detect_format(head)

    def lines_with(self, pattern: re.Pattern[str]) -> Iterator[str]:
        """The input's lines in which ``pattern`` (which matches no line ending) finds something.

        Unparsed and uncounted, for a quick second look; a compressed input's lines end
        at its damage, which :meth:`__iter__` reports.
        """
        if self._lines is not None:
            yield from (line for line in self._lines if pattern.search(line))
            return
        yielded = 0
        with open_text(self.path) as handle:
            try:
                for line in grep(handle, pattern):
                    yielded += 1
                    yield line
                return
            except DAMAGE:
                pass
        # Damaged: a chunk read across the damage is lost whole. Read line by line, as the
        # reader does, for every line before it.
        with open_text(self.path) as handle:
            marked = (line for line in _readable(handle) if pattern.search(line))
            yield from itertools.islice(marked, yielded, None)

    def __iter__(self) -> Iterator[Located]:
        if self._lines is not None:
            yield from self._read(iter(self._lines))
            return
        with open_text(self.path) as handle:
            yield from self._read(handle)

    def _read(self, handle: Iterator[str]) -> Iterator[Located]:
        """The events (a trace's fused loop is returned as it is: one generator less per line)."""
        head: list[str] = []
        # only a guess needs the first lines up front; a live stream must not wait for them
        if self.requested == "auto":
            try:
                for line in handle:
                    head.append(line)
                    if len(head) >= DETECT_LINES:
                        break
            except DAMAGE as exc:
                self.damaged_by(exc)
        rest = handle if self.damaged is None else iter(())
        fmt = detect_format(head) if self.requested == "auto" else self.requested
        self.stats.format = fmt
        ctx = ReadContext(self.path, self.session, self.stats, self.session_field, self.strict)
        if fmt == "trace" and tracepath.FUSED:
            # numbering, reading and counting in one loop, which notes the damage itself
            return tracepath.read_counted(itertools.chain(head, rest), ctx, self._head, self)
        return self._general(fmt, ctx, self._numbered(itertools.chain(head, rest)))

    def damaged_by(self, exc: BaseException) -> None:
        """Note why the input stopped early (one of :data:`lines.DAMAGE`)."""
        self.damaged = "cut short" if isinstance(exc, EOFError) else "corrupt"

    def finish(self) -> None:
        """After a trace's last line: its damage accounted for, the hint given."""
        self._account_damage()
        self._hint_if_asked()

    def _hint_if_asked(self) -> None:
        if self.requested != "auto" and not self.guessed:
            self.stats.hint = self._hint()

    def _general(self, fmt: Format, ctx: ReadContext, numbered: NumberedLines) -> Iterator[Located]:
        """The format's parser's events, counted; then the format named (a log's) and the hint given."""
        if fmt in PARSERS:
            parsed = PARSERS[fmt](numbered, ctx)
        else:
            logs = LogReader(ctx, None if self.requested == "auto" or self.guessed else fmt)
            parsed = read_fused(logs, numbered) if fuses(logs) else logs.read(numbered)
        stats = self.stats
        for located in parsed:
            stats.events += 1
            if isinstance(located.event, DecryptError):
                stats.failures += 1
            yield located
        if fmt not in PARSERS:
            self.stats.format = main_kind(self.stats.kinds) or (fmt if self.requested != "auto" else "unknown")
        self._hint_if_asked()

    def _hint(self) -> str | None:
        """The format that would fit, when the one asked for rejected what the file mostly is."""
        stats = self.stats
        if not stats.rejected_count:
            return None
        if self.requested in FORMAT_KINDS:
            main = main_kind(stats.kinds)
            if main is None or main in FORMAT_KINDS[self.requested]:
                return None
            fit = next(name for name, kinds in FORMAT_KINDS.items() if main in kinds)
        elif stats.events:
            return None
        else:
            fit = detect_format(self._head)
        if fit == self.requested:
            return None
        return f"--format {self.requested} rejected {stats.rejected_count} lines; it looks like --format {fit}"

    def _numbered(self, lines: Iterator[str]) -> NumberedLines:
        """The lines numbered, up to where a compressed input is cut short or corrupt (then counted as rejected)."""
        stats, head = self.stats, self._head
        try:
            for number, line in enumerate(lines, 1):
                if number <= DETECT_LINES:
                    head.append(line)
                stats.lines = number  # kept current: a parser's rejection or a follower may read it mid-file
                self.bytes_read += len(line)
                yield number, line.rstrip("\r\n")
        except DAMAGE as exc:  # (from the lines: nothing else here raises these)
            self.damaged_by(exc)
        self._account_damage()

    def _account_damage(self) -> None:
        """Count a compressed input's unreadable rest as one rejected line, after the last one read."""
        if self.damaged is not None:
            at = self.stats.lines + 1
            self.stats.lines = at
            self.damaged = f"compressed data {self.damaged} after line {at - 1}: the rest is unreadable"
            if self.strict:
                raise ReadError(self.path, at, self.damaged)
            self.stats.reject(at, self.damaged)


def merge(readers: Iterable[Reader]) -> Iterator[Located]:
    """Events of several inputs, merged by time (each input is read as a stream)."""
    return heapq.merge(*readers, key=lambda located: located.event.at)


def _readable(lines: Iterator[str]) -> Iterator[str]:
    """The lines before a compressed input's damage (a second look; :class:`Reader` reports the damage)."""
    try:
        yield from lines
    except DAMAGE:
        return
