"""Baileys issue #2234's storm as the Baileys pino log a bot would write, for the storm benchmark row.

    python -m bench.storm [PATH] [--seed 2234] [--errors 168000]

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
"""

from __future__ import annotations

import argparse
import hashlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from harness.logformats import BaileysLogWriter
from sessionmgr.categories import Category
from sessionmgr.events import ConnectionChanged, DecryptError
from sessionmgr.pseudonym import Pseudonymizer

__all__ = ["CONSOLE_LINES", "ERRORS", "HOURS", "SESSION", "generate"]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", nargs="?", default="storm.baileys.log", help="where to write (storm.baileys.log)")
    parser.add_argument("--seed", type=int, default=2234)
    parser.add_argument("--errors", type=int, default=ERRORS, help="decrypt failures (168,000)")
    args = parser.parse_args()
    path = Path(args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the console lines in the proportion when the storm is scaled down
    generate(path, seed=args.seed, errors=args.errors, console_lines=CONSOLE_LINES * args.errors // ERRORS)
    with path.open(encoding="utf-8") as handle:
        lines = json_lines = 0
        for line in handle:
            lines += 1
            json_lines += line.startswith("{")
    print(f"{path}: {lines:,} lines, {json_lines:,} pino JSON, {lines - json_lines:,} console")


if __name__ == "__main__":
    main()
