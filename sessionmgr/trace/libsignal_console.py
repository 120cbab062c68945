"""libsignal-node's console output: the lines it prints around a failed decrypt.

WhiskeySockets/libsignal-node prints with ``console.error``/``console.info``
(src/session_cipher.js, src/session_record.js); these lines carry no event of
their own in a Baileys log, but a ``Session error:`` line names the cause of
the failure Baileys logs right after it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["LIBSIGNAL_TEXTS", "console_line"]

_SESSION_ERROR: Final = re.compile(r"^Session error:\s*(?P<cause>.*)$")
_STACK_FRAME: Final = re.compile(r"^\s+at\s")
#: libsignal-node's console output that carries no event of its own
LIBSIGNAL_TEXTS: Final = (
    "Failed to decrypt message with any known session",
    "Closing open session in favor of incoming prekey bundle",
    "Closing stale open session for new outgoing prekey bundle",
    "Closing session:",
    "Opening session:",
    "Removing old closed session:",
    "Decrypted message with closed session.",
    "Migrating session to:",
    "Session already closed",
    "Session already open",
    "SessionEntry {",
)


def console_line(text: str) -> tuple[str | None, str | None]:
    """(kind of recognised line, or None) and the cause it names, if it is a ``Session error:`` line."""
    match = _SESSION_ERROR.match(text)
    if match:
        cause = match.group("cause")
        # Node prints "Session error:" + e, then e.stack, whose first line repeats e
        half = len(cause) // 2
        if len(cause) % 2 == 1 and cause[:half] == cause[half + 1 :]:
            cause = cause[:half]
        return "libsignal session error", cause.strip()
    if _STACK_FRAME.match(text):
        return "stack frame", None
    if any(marker in text for marker in LIBSIGNAL_TEXTS):
        return "libsignal", None
    if text[:1] in (" ", "\t", "}") or text.startswith(("<Buffer", "[Object", "]")):
        return "libsignal session dump", None
    return None, None
