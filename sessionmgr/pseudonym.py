"""Stable keyed pseudonyms for phone numbers and JIDs."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Final

__all__ = ["Pseudonymizer"]

# A WhatsApp JID (user[:device]@server) or a bare run of 8+ digits (a phone number).
_JID: Final = re.compile(
    r"\+?\b\d[\d:.\-]{6,}\d(?:@[\w.\-]+)?|\b[\w.\-]+@(?:s\.whatsapp\.net|c\.us|g\.us|lid|broadcast)\b"
)
_DIGITS: Final = re.compile(r"\d{7,}")
_CACHE_LIMIT: Final = 50_000


class Pseudonymizer:
    """Replaces identifiers with ``prefix-<hex>`` pseudonyms keyed by a secret.

    The same key always gives the same pseudonym, so traces and logs from one
    deployment can be joined without revealing numbers. Without a key, one is
    read from ``SESSIONMGR_PSEUDONYM_KEY`` or drawn at random for this process.
    ``raw=True`` turns it off for operators who ask for raw ids.
    """

    def __init__(self, key: bytes | None = None, *, raw: bool = False) -> None:
        if key is None:
            env = os.environ.get("SESSIONMGR_PSEUDONYM_KEY")
            key = env.encode() if env else os.urandom(32)
        self._key = key
        self.raw = raw
        self._cache: dict[str, str] = {}

    def pseudonym(self, identifier: str, prefix: str = "peer") -> str:
        """The pseudonym of one identifier (a JID, a number)."""
        if self.raw:
            return identifier
        cached = self._cache.get(identifier)
        if cached is None:
            # the device suffix and server do not change who the person is
            user = identifier.split("@", 1)[0].split(":", 1)[0].lstrip("+")
            digest = hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()[:12]
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # identifiers come and go: memory must not grow with history
            cached = self._cache[identifier] = f"{prefix}-{digest}"
        return cached

    def peer(self, peer: str | None) -> str | None:
        return None if peer is None else self.pseudonym(peer)

    def session(self, session: str) -> str:
        """Session ids pass through unless they hold a phone number."""
        if self.raw or not _DIGITS.search(session):
            return session
        return self.pseudonym(session, "session")

    def scrub(self, text: str) -> str:
        """Replace every JID or phone number inside free text (error messages)."""
        if self.raw:
            return text
        return _JID.sub(lambda m: self.pseudonym(m.group(0)), text)
