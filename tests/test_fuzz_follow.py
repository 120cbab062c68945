"""Fuzzing the follower: appends (partial lines too), truncation, rotation and deletion, looked at at random moments.

No clock: the follower is stepped by hand, so "between two looks" is exact. A model
says what ``tail -F`` can know: every line complete when a file was looked at (all
of a rotated or deleted file, whose handle stays open), once, in order. Each file
generation starts with a line whose first byte differs from the previous one's, as
timestamped logs do, so a truncated-and-refilled file can be told from its first bytes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionmgr.events import Event
from sessionmgr.monitoring.followers import FollowedFile, RejectLog
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.trace.follow import Follower
from sessionmgr.trace.readers import Reader
from tests.fuzzing import HOSTILE_LINE, LOG_RECORDS, LOG_START, MARKER, PHONE, tokens_of

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_TEXT = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))
#: (operation, bytes): appended text may end mid-line; a look steps the follower.
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(_TEXT, min_size=1, max_size=4).map(lambda parts: b"\n".join(parts))),
        st.tuples(st.just("append"), _TEXT.map(lambda text: text + b"\n")),
        st.tuples(st.sampled_from(["truncate", "rotate", "delete", "look"]), st.just(b"")),
        st.tuples(st.just("look"), st.just(b"")),
    ),
    max_size=25,
)


@dataclass
class Generation:
    """One file's life at the path: what was written, what the follower could have read of it, how it ended."""

    content: bytearray = field(default_factory=bytearray)
    seen: int = 0
    opened: bool = False
    looked: bool = False
    deleted: bool = False
    ended: str | None = None
    ended_at_look: int = 0  # how many looks there had been when it ended

    def expected(self, replaced_seen: bool) -> list[str]:
        """What a tail -F that looked when this model says it did hands out of this generation.

        ``replaced_seen``: the follower looked at a later generation, so it knows this one is over.
        """
        if not self.opened:
            return []
        # a file moved or deleted is still open to the follower: it is read to its end
        whole = self.ended in ("rotate", "delete") or self.deleted
        data = bytes(self.content if whole else self.content[: self.seen])
        *lines, rest = data.split(b"\n")
        if rest and replaced_seen:  # a last line without its newline, handed out once its file is known gone
            lines.append(rest)
        return [line.decode("utf-8", errors="replace") for line in lines]


class Model:
    """The file operations, done for real and remembered."""

    def __init__(self, path: Path) -> None:
        self.path, self.generations, self.rotated, self.looks = path, [Generation()], 0, 0
        self.path.write_bytes(b"")

    def header(self) -> bytes:
        # the first byte differs from one generation to the next (timestamps do that in real logs)
        n = len(self.generations)
        return f"{chr(ord('A') + n % 26)}{n} begins\n".encode()

    def new_generation(self, ended: str) -> None:
        self.generations[-1].ended, self.generations[-1].ended_at_look = ended, self.looks
        # truncated in place: the same inode, still open to the follower if the old content was
        self.generations.append(Generation(opened=ended == "truncate" and self.generations[-1].opened))

    def apply(self, op: str, data: bytes) -> None:
        current = self.generations[-1]
        if op == "append":
            if not self.path.exists():  # deleted: an append makes a new file
                self.new_generation("delete")
                current = self.generations[-1]
                self.path.write_bytes(b"")
            if not current.content:
                data = self.header() + data
            with self.path.open("ab") as handle:
                handle.write(data)
            current.content += data
        elif op == "truncate" and self.path.exists():
            self.new_generation("truncate")
            with self.path.open("r+b") as handle:
                handle.truncate(0)
        elif op == "rotate" and self.path.exists():
            self.rotated += 1
            os.rename(self.path, self.path.with_name(f"{self.path.name}.{self.rotated}"))
            self.new_generation("rotate")
            self.path.write_bytes(b"")
        elif op == "delete" and self.path.exists():
            self.path.unlink()
            current.deleted = True

    def looked(self) -> None:
        self.looks += 1
        current = self.generations[-1]
        if self.path.exists():
            current.opened = current.looked = True
            current.seen = len(current.content)

    def expected(self) -> list[str]:
        gens, out = self.generations, []
        for n, generation in enumerate(gens):
            # truncated: the follower sees it at its next look (it holds the inode); moved away or
            # deleted: once it has opened the file that came after
            if generation.ended == "truncate":
                known_gone = self.looks > generation.ended_at_look
            else:
                known_gone = any(later.looked for later in gens[n + 1 :])
            out += generation.expected(known_gone)
        return out


def drain(follower: Follower) -> list[str]:
    out: list[str] = []
    while (line := follower.next_line()) is not None:
        out.append(line)
    return out


@FUZZ
@given(OPERATIONS)
def test_the_follower_hands_out_every_line_it_could_see_once_in_order(operations: list[tuple[str, bytes]]) -> None:
    """Any mix of appends, truncations, rotations and deletions: no exception, no line lost, doubled or invented."""
    with tempfile.TemporaryDirectory() as directory:
        model = Model(Path(directory) / "bot.log")
        follower = Follower(model.path, from_start=True)
        out: list[str] = []
        for op, data in [*operations, ("look", b"")]:
            if op == "look":
                out += drain(follower)
                model.looked()
            else:
                model.apply(op, data)
        follower.close()
        assert out == model.expected()
        assert follower.state.error is None


@FUZZ
@given(
    st.lists(st.tuples(st.sampled_from(["", *sorted(LOG_RECORDS)]), st.lists(HOSTILE_LINE, max_size=2)), max_size=8),
    st.lists(st.integers(min_value=1, max_value=400), max_size=12),
)
def test_a_followed_file_keeps_every_planted_failure_whatever_the_appends(
    plan: list[tuple[str, list[str]]], cuts: list[int]
) -> None:
    """Good records amid hostile lines, appended in pieces cut anywhere: every line read once, every failure out, no leak."""
    lines = [LOG_START]
    tokens: set[str] = set()
    for n, (kind, noise) in enumerate(plan):
        lines += noise
        if kind:
            lines += LOG_RECORDS[kind](n)
            tokens.add(f"G{n:04d}X")
    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"{PHONE}.log"
        path.write_bytes(b"")
        pieces, done = [], 0
        for cut in [*cuts, len(data)]:  # the file grows piece by piece, cut anywhere (mid-line too)
            pieces.append(data[done : done + cut])
            done += cut
        events: list[Event] = []
        rejected: list[tuple[str, int, str, int]] = []
        reject_log = RejectLog(lambda: float(len(rejected)), Pseudonymizer(b"k"), every=5)  # a sum every 5

        def on_reject(file: str, line: int, kind: str, count: int) -> None:
            rejected.append((file, line, kind, count))
            reject_log.add(file, line, kind, count)

        follower = Follower(path, from_start=True)
        halt = Appender(path, [p for p in pieces if p], follower, len(lines))
        file = FollowedFile(
            path, follower, lambda stream: Reader(path, format="auto", lines=stream, guessed=True),
            events.append, on_reject, halt=halt, poll=0, pseudonymizer=Pseudonymizer(b"k"),
        )  # fmt: skip
        logged = _Records()
        logging.getLogger("sessionmgr").addHandler(logged)
        try:
            file.run()  # on this thread: each time the follower would wait, the next piece is appended
            reject_log.flush(force=True)
        finally:
            logging.getLogger("sessionmgr").removeHandler(logged)
        assert halt.budget >= 0, "the follower never handed out every line"
        totals = file.totals()
    assert totals["lines"] == len(lines)
    assert totals["events"] + totals["ignored"] + totals["rejected"] == totals["lines"]
    assert not tokens - tokens_of(events)
    health = file.health()
    assert health["status"] == "ok", health
    assert all(PHONE not in kind and MARKER not in kind for _, _, kind, _ in rejected)
    assert PHONE not in str(health) and MARKER not in str(health)
    assert bool(logged.messages) == bool(rejected)  # each file's rejections are logged, never their content
    assert all(PHONE not in message and MARKER not in message for message in logged.messages)


class _Records(logging.Handler):
    """Every message logged under ``sessionmgr`` (Hypothesis runs many examples in one test: no caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Appender(threading.Event):
    """Virtual time for a followed file: each wait of the follower's loop appends the next piece of the file.

    It is set once every piece is written and the follower has handed out ``lines``
    lines (or, failing the test, after ``budget`` looks).
    """

    def __init__(self, path: Path, pieces: list[bytes], follower: Follower, lines: int, budget: int = 100_000) -> None:
        super().__init__()
        self.path, self.pieces, self.follower, self.lines, self.budget = path, pieces, follower, lines, budget

    def wait(self, timeout: float | None = None) -> bool:
        if self.pieces:
            with self.path.open("ab") as handle:
                handle.write(self.pieces.pop(0))
        return self.is_set()

    def is_set(self) -> bool:
        self.budget -= 1
        done = not self.pieces and self.follower.handed_out >= self.lines
        return super().is_set() or done or self.budget < 0
