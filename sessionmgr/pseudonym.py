"""Stable keyed pseudonyms for phone numbers and JIDs, and the session ids the manager works under."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
from typing import Final, TypeVar

from sessionmgr.backend import Backend
from sessionmgr.events import Event

__all__ = ["Pseudonymizer", "RealIdBackend", "SessionIds", "redact_reason"]

E = TypeVar("E", bound=Event)

# A WhatsApp JID (user[:device]@server) or a bare run of 8+ digits (a phone number).
_JID: Final = re.compile(
    r"\+?\b\d[\d:.\-]{6,}\d(?:@[\w.\-]+)?|\b[\w.\-]+@(?:s\.whatsapp\.net|c\.us|g\.us|lid|broadcast)\b"
)
_DIGITS: Final = re.compile(r"\d{7,}")
# What this module hands out: a second pass leaves it alone (a trace we wrote, a store we filled).
_PSEUDONYM: Final = re.compile(r"(?:peer|session)-[0-9a-f]{12}")
# A phone number inside a file's path (``logs/5511987654321.log``): the session it names, pseudonymized.
_PATH_NUMBER: Final = re.compile(r"\+?\d{7,}")
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
        identifier = str(identifier)  # a caller's int peer is a number all the same
        digest = self._cache.get(identifier)  # the digest, not the name: one number may be a peer and a session
        if digest is None:
            # the device suffix and server do not change who the person is
            user = identifier.split("@", 1)[0].split(":", 1)[0].lstrip("+")
            digest = hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()[:12]
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # identifiers come and go: memory must not grow with history
            self._cache[identifier] = digest
        return f"{prefix}-{digest}"

    def peer(self, peer: str | None) -> str | None:
        return None if peer is None else self.pseudonym(peer)

    def session(self, session: str) -> str:
        """Session ids pass through unless they hold a phone number (7 digits in a row or more).

        Baileys sessions are often named after the bot's number, and a log file
        named ``5511987654321.log`` names its session; those become
        ``session-<hex>``. A pseudonym given again comes back unchanged.
        """
        if self.raw or not _DIGITS.search(session) or _PSEUDONYM.fullmatch(session):
            return session
        return self.pseudonym(session, "session")

    def path(self, path: str) -> str:
        """A file's path with the phone numbers in it pseudonymized as the session they name."""
        if self.raw:
            return path
        return _PATH_NUMBER.sub(lambda m: self.pseudonym(m.group(0), "session"), path)

    def scrub(self, text: str) -> str:
        """Replace every JID or phone number inside free text (error messages)."""
        if self.raw:
            return text
        return _JID.sub(lambda m: self.pseudonym(m.group(0)), text)


# A quoted value in a rejection reason is kept only when it reads like one of our own words
# (a kind, a category, a schema): anything else may be what someone wrote, or a number.
_QUOTED: Final = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')
_WORD: Final = re.compile(r"[a-z][a-z_./]{0,39}\d{0,6}")
_NUMBER_RUN: Final = re.compile(r"[+-]?\d[\d.eE+\-]{6,}")


def redact_reason(reason: str) -> str:
    """A rejection reason without the raw values it quotes (``got '5511...'`` names the field, not the value).

    Reasons go to reports, logs and the terminal: a rejected line may carry a
    phone number or a message body in the very field that was wrong.
    """

    def quoted(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1]
        # two characters say nothing about anyone (JSON's "Expecting ',' delimiter" keeps its comma)
        return match.group(0) if len(inner) <= 2 or _WORD.fullmatch(inner) else f"<{len(inner)} characters>"

    return _NUMBER_RUN.sub("<number>", _QUOTED.sub(quoted, reason))


class SessionIds:
    """The session ids the manager works under, and the real ones its backend needs.

    Everything the manager publishes, stores or logs carries the name
    :meth:`inward` gives (a pseudonym when the id holds a phone number); only
    the backend, through :class:`RealIdBackend`, gets the real id back. A real
    id is known once the manager has seen it in this process: a session
    restored from the store and not observed since reaches the backend under
    its pseudonym (observe its connection at start-up, or use raw ids).
    """

    def __init__(self, pseudonymizer: Pseudonymizer) -> None:
        self._pseudonymizer = pseudonymizer
        self._names: dict[str, str] = {}  # real -> name
        self._real: dict[str, str] = {}  # name -> real, only where they differ

    def inward(self, session: str) -> str:
        name = self._names.get(session)
        if name is None:
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()  # names are recomputed; the reverse map stays (one entry per bot)
            name = self._names[session] = self._pseudonymizer.session(session)
            if name != session:
                self._real[name] = session
        return name

    def event(self, event: E) -> E:
        """The event under the session's name (the same object when the name is the id)."""
        name = self.inward(event.session)
        return event if name == event.session else dataclasses.replace(event, session=name)

    def outward(self, name: str) -> str:
        """The real id behind a name (the name itself when it is the id, or was never seen here)."""
        return self._real.get(name, name)


class RealIdBackend:
    """A backend seen through :class:`SessionIds`: the manager calls it with names, it is called with real ids.

    The manager keeps one and names what comes in with :meth:`name` and :meth:`named`.
    """

    def __init__(self, backend: Backend, pseudonymizer: Pseudonymizer) -> None:
        self.inner = backend
        self._ids = SessionIds(pseudonymizer)
        self.name = self._ids.inward
        self.named = self._ids.event

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        await self.inner.request_resend(self._ids.outward(session), peer, message_id, with_keys=with_keys)

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        await self.inner.request_from_phone(self._ids.outward(session), peer, message_id)

    async def upload_prekeys(self, session: str, count: int) -> None:
        await self.inner.upload_prekeys(self._ids.outward(session), count)

    async def reset_peer_session(self, session: str, peer: str) -> None:
        await self.inner.reset_peer_session(self._ids.outward(session), peer)

    async def regenerate_keys(self, session: str) -> None:
        await self.inner.regenerate_keys(self._ids.outward(session))

    async def disconnect(self, session: str) -> None:
        await self.inner.disconnect(self._ids.outward(session))

    async def export_keys(self, session: str) -> bytes:
        return await self.inner.export_keys(self._ids.outward(session))

    async def purge_keys(self, session: str) -> None:
        await self.inner.purge_keys(self._ids.outward(session))
