"""Baileys issue #2234's storm as the Baileys pino log a bot would write, for the storm benchmark row.

    python -m bench.storm [PATH] [--seed 2234] [--errors 168000]
    python -m bench.storm PATH --profile     # where a replay of it spends its time, by stage

WhiskeySockets/Baileys#2234 reports 168,000 ``Bad MAC`` decrypt failures in
about two hours on one connection, the peers long numeric group and broadcast
ids. This writes that storm, seeded and deterministic (the same seed gives the
same bytes), with :class:`harness.logformats.BaileysLogWriter`: pino JSON lines
(``failed to decrypt message`` at level 50) with libsignal-node's console output
between them. Where a peer's record held several sessions, libsignal-node's
``decryptWithSessions`` prints ``Failed to decrypt message with any known
session...`` and one ``Session error:`` line plus stack per session tried,
then throws ``No matching sessions found for message`` (modelled in
harness/protocol.py ``_decrypt_message``); the writer prints five console lines
for such an error, so ``CONSOLE_LINES // 5`` of the errors carry one cause,
giving the issue's ~134,000 console lines. The rest fail with a plain
``Bad MAC``.

``--profile`` replays the file under cProfile and sums the functions' own time
by the stage their module belongs to (:data:`STAGES`); a builtin or a generated
dataclass method is charged to the modules that called it, in proportion to
their calls. cProfile charges every call, so call-heavy stages read high; the
shares are for ranking the stages, the µs/event is the share of an unprofiled
replay's time (the best of ``--rounds``). A knock-out beside it replays with the
reader's classification memoised: cProfile charges a regex search as one call,
so the knock-out is the truer figure for classification.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import random
import sysconfig
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from harness.logformats import BaileysLogWriter
from sessionmgr.categories import Category
from sessionmgr.events import ConnectionChanged, DecryptError
from sessionmgr.pseudonym import Pseudonymizer

__all__ = ["CONSOLE_LINES", "ERRORS", "HOURS", "SESSION", "STAGES", "generate", "profile"]

ERRORS: Final = 168_000
CONSOLE_LINES: Final = 134_000
HOURS: Final = 2.0
#: The session a Baileys log is read as: the file's name without extensions.
SESSION: Final = "storm"
#: Console lines the writer prints for an error with one cause: the header, ``Session error:`` and three frames.
_LINES_PER_CAUSE: Final = 5
_PEERS: Final = 400
_START: Final = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


def generate(path: Path, *, seed: int = 2234, errors: int = ERRORS, console_lines: int = CONSOLE_LINES) -> None:
    """Write the storm to ``path`` (its file name should start with ``storm.`` so the reader names it so)."""
    rng = random.Random(seed)
    # long numeric ids, as the peers (groups and broadcast lists, not phone numbers)
    peers = [str(rng.randrange(10**13, 10**15)) for _ in range(_PEERS)]
    caused = set(rng.sample(range(errors), min(errors, console_lines // _LINES_PER_CAUSE)))
    rate = errors / (HOURS * 3600)
    pseudonymizer = Pseudonymizer(hashlib.sha256(f"sessionmgr-storm-{seed}".encode()).digest())
    with path.open("w", encoding="utf-8") as out:
        write = BaileysLogWriter(out, SESSION, pseudonymizer)
        write(ConnectionChanged(session=SESSION, at=_START, open=True))
        t = 0.0
        for i in range(errors):
            t += rng.expovariate(rate)
            at = _START + timedelta(milliseconds=round(t * 1000))
            peer = rng.choice(peers)
            message_id = f"3EB0{rng.getrandbits(72):018X}"  # the shape of Baileys' ids
            if i in caused:
                event = DecryptError(
                    session=SESSION, at=at, peer=peer, error="No matching sessions found for message",
                    error_type="SessionError", message_type="msg", message_id=message_id,
                    causes=("Error: Bad MAC",), category=Category.SESSION_MISMATCH,
                )  # fmt: skip
            else:
                event = DecryptError(
                    session=SESSION, at=at, peer=peer, error="Bad MAC", error_type="Error",
                    message_type="msg", message_id=message_id, category=Category.BAD_MAC,
                )  # fmt: skip
            write(event)


_STDLIB: Final = sysconfig.get_paths()["stdlib"] + "/"
#: Replay stages by where their code lives (the first prefix that matches wins), as in issue 13's table.
STAGES: Final = (
    ("classification (sessionmgr/classify.py)", ("sessionmgr/classify.py",)),
    ("JSON decode and console-line matching", (f"{_STDLIB}json/", "sessionmgr/trace/libsignal_console.py")),
    ("reader: fields, times, events, Located (sessionmgr/trace/)", ("sessionmgr/trace/", "sessionmgr/events.py")),
    (
        "bus and subscribers (stats, alerts, report recorder)",
        ("sessionmgr/bus.py", "sessionmgr/stats.py", "sessionmgr/report/", "sessionmgr/recovery/alerts.py"),
    ),
    ("manager: publishing, ladder, state, windows", ("sessionmgr/",)),
    ("replay loop, virtual loop and asyncio", ("harness/", f"{_STDLIB}asyncio/", "freezegun/")),
)
_OTHER: Final = "other (stdlib and builtins called from elsewhere)"
_ANONYMOUS: Final = ("~", "<string>")


def _stage_of(filename: str) -> str:
    for name, parts in STAGES:
        if any(part in filename for part in parts):
            return name
    return _OTHER


def _shares(stats: dict[Any, Any]) -> Callable[[Any], dict[str, float]]:
    """Which stages a function's time belongs to: its own module's, or (for builtins, generated methods and
    stdlib helpers such as ``dataclasses.replace``) its callers', split by their calls, a few levels up."""
    memo: dict[Any, dict[str, float]] = {}

    def shares(func: Any, depth: int = 0) -> dict[str, float]:
        if func in memo:
            return memo[func]
        stage = _stage_of(func[0]) if func[0] not in _ANONYMOUS else _OTHER
        callers = stats[func][4] if func in stats else {}
        if stage != _OTHER or depth >= 4 or not callers:
            return {stage: 1.0}
        calls = sum(c[0] for c in callers.values()) or 1
        out: Counter[str] = Counter()
        for caller, (n, *_rest) in callers.items():
            for name, part in shares(caller, depth + 1).items():
                out[name] += part * n / calls
        memo[func] = dict(out)
        return memo[func]

    return shares


def profile(path: Path) -> tuple[dict[str, float], int]:
    """Seconds of own time by stage under cProfile, and the events replayed."""
    from harness.replay import run_replay
    from sessionmgr.trace.readers import Reader

    reader = Reader(path)
    profiler = cProfile.Profile()
    profiler.runcall(run_replay, [reader], tail=0)
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    shares = _shares(stats)
    stages: Counter[str] = Counter()
    for func, (_, _, own, _, _) in stats.items():
        for name, part in shares(func).items():
            stages[name] += own * part
    return dict(stages), reader.stats.events


def knock_out_classification(path: Path, rounds: int = 3) -> tuple[float, float]:
    """Seconds of a replay as it is, and with the reader's classification memoised (a bench-only patch, each
    distinct list of texts classified once), best of ``rounds``: the difference is what classifying costs."""
    from harness.replay import run_replay
    from sessionmgr.classify import classify_texts as original
    from sessionmgr.trace import baileys
    from sessionmgr.trace.readers import Reader

    namespace = vars(baileys)  # the name the reader calls, patched for this measurement only
    memo: dict[tuple[tuple[str, ...], bool], Category] = {}

    def memoised(texts: Sequence[str], *, signal_layer: bool = False) -> Category:
        key = (tuple(texts), signal_layer)
        found = memo.get(key)
        if found is None:
            found = memo[key] = original(texts, signal_layer=signal_layer)
        return found

    best = [float("inf"), float("inf")]
    for _ in range(rounds):  # alternating, best of each: a shared machine's noise is one-sided
        for i, patch in enumerate((original, memoised)):
            namespace["classify_texts"] = patch
            try:
                start = time.perf_counter()
                run_replay([Reader(path)], tail=0)
                best[i] = min(best[i], time.perf_counter() - start)
            finally:
                namespace["classify_texts"] = original
    return best[0], best[1]


def _print_profile(path: Path, rounds: int) -> None:
    as_is, memoised = knock_out_classification(path, rounds)
    stages, events = profile(path)
    whole = sum(stages.values())
    print(f"replay of {path}: {events:,} events, {as_is:.2f} s unprofiled (best of {rounds}), {whole:.2f} s profiled")
    print("| stage (cProfile) | share of the replay | µs/event |\n|---|---:|---:|")
    for name, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        share = seconds / whole
        print(f"| {name} | {share:.0%} | {share * as_is / events * 1e6:.1f} |")
    print(
        f"knock-out (best of {rounds} each): replay {as_is:.2f} s as it is, "
        f"{memoised:.2f} s with classification memoised: "
        f"classification is {1 - memoised / as_is:.0%} of the replay ({(as_is - memoised) / events * 1e6:.1f} µs/event)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", nargs="?", default="storm.baileys.log", help="where to write (storm.baileys.log)")
    parser.add_argument("--seed", type=int, default=2234)
    parser.add_argument("--errors", type=int, default=ERRORS, help="decrypt failures (168,000)")
    parser.add_argument("--profile", action="store_true", help="profile a replay of PATH (written if missing)")
    parser.add_argument("--rounds", type=int, default=3, help="unprofiled replays of each kind, the best kept (3)")
    args = parser.parse_args()
    path = Path(args.path)
    if args.profile and path.exists():
        _print_profile(path, args.rounds)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the console lines in the proportion when the storm is scaled down
    generate(path, seed=args.seed, errors=args.errors, console_lines=CONSOLE_LINES * args.errors // ERRORS)
    with path.open(encoding="utf-8") as handle:
        lines = json_lines = 0
        for line in handle:
            lines += 1
            json_lines += line.startswith("{")
    print(f"{path}: {lines:,} lines, {json_lines:,} pino JSON, {lines - json_lines:,} console")
    if args.profile:
        _print_profile(path, args.rounds)


if __name__ == "__main__":
    main()
