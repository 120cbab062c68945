"""Write a simulation's observations as production systems log them: Baileys' pino JSON with
libsignal-node's console lines, or the seed's own format. Used to make examples and test readers."""

from __future__ import annotations

import json
from typing import IO, Final

from sessionmgr.clock import iso_z
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event
from sessionmgr.pseudonym import Pseudonymizer

__all__ = ["BaileysLogWriter", "SeedLogWriter"]

_STACK: Final = (
    "    at Object.verifyMAC (/app/node_modules/libsignal/src/crypto.js:87:15)",
    "    at SessionCipher.doDecryptWhisperMessage (/app/node_modules/libsignal/src/session_cipher.js:250:16)",
    "    at async SessionCipher.decryptWithSessions (/app/node_modules/libsignal/src/session_cipher.js:165:29)",
)


def _ms(event: Event) -> int:
    return round(event.at.timestamp() * 1000)


class BaileysLogWriter:
    """One bot's log as a Baileys deployment writes it (pino JSON, console lines interleaved).

    Peers are written as pseudonymous but JID-shaped numbers, so the log reads
    like production without holding anyone's number.
    """

    def __init__(self, out: IO[str], session: str, pseudonymizer: Pseudonymizer, *, iso_time: bool = False) -> None:
        self.out = out
        self.session = session
        self.pseudonymizer = pseudonymizer
        self.iso_time = iso_time

    def _jid(self, peer: str | None) -> str:
        digest = self.pseudonymizer.pseudonym(peer or "unknown").split("-", 1)[1]
        return f"5500{int(digest, 16) % 10**9:09d}@s.whatsapp.net"

    def _line(self, record: dict[str, object], event: Event) -> None:
        time: object = iso_z(event.at) if self.iso_time else _ms(event)
        head = {"level": record.pop("level"), "time": time, "pid": 4242, "hostname": "bot-host"}
        self.out.write(json.dumps(head | record, separators=(",", ":")) + "\n")

    def __call__(self, event: Event) -> None:
        if event.session != self.session:
            return
        if isinstance(event, DecryptError):
            if event.causes:
                self.out.write("Failed to decrypt message with any known session...\n")
                for cause in event.causes:
                    self.out.write(f"Session error:{cause} {cause}\n")
                    self.out.write("\n".join(_STACK) + "\n")
            key = {"remoteJid": self._jid(event.peer), "fromMe": False, "id": event.message_id or "3EB0000000000000"}
            err = {
                "type": event.error_type or "Error",
                "message": event.error,
                "stack": f"{event.error_type}: {event.error}",
            }
            record: dict[str, object] = {"level": 50, "key": key, "err": err, "msg": "failed to decrypt message"}
            if event.message_type:
                record["messageType"] = event.message_type
            self._line(record, event)
        elif isinstance(event, DecryptOk):
            if event.message_type == "pkmsg":
                self.out.write("Closing open session in favor of incoming prekey bundle\n")
            self._line({"level": 20, "key": {"remoteJid": self._jid(event.peer)}, "msg": "decrypted message"}, event)
        elif isinstance(event, ConnectionChanged):
            text = "opened connection to WA" if event.open else "connection closed"
            self._line({"level": 30, "msg": text}, event)


class SeedLogWriter:
    """Decrypt errors in the seed's own log format, every third one spread over several lines."""

    def __init__(self, out: IO[str], pseudonymizer: Pseudonymizer) -> None:
        self.out = out
        self.pseudonymizer = pseudonymizer
        self.count = 0

    def __call__(self, event: Event) -> None:
        if not isinstance(event, DecryptError):
            return
        self.count += 1
        stamp = iso_z(event.at)
        peer = self.pseudonymizer.peer(event.peer) or "unknown"
        session = event.session.removeprefix("bot-").lstrip("0") or "0"
        fields = [f'message: "{event.error}"', f"sessionId: {session}", f'timestamp: "{stamp}"']
        context = f'context: {{ remoteJid: "{peer}", messageType: "{event.message_type or "msg"}" }}'
        if self.count % 3:
            self.out.write(f"[ERROR] Erro de criptografia WhatsApp: {{ {', '.join([*fields, context])} }}\n")
        else:
            body = "".join(f"  {f},\n" for f in fields)
            self.out.write(f"[ERROR] Erro de criptografia WhatsApp: {{\n{body}  {context}\n}}\n")
