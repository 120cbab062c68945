"""A structured-logging sink: events as log records, never with plaintext or raw numbers."""

from __future__ import annotations

import json
import logging
from typing import Any

from sessionmgr.events import DecryptOk, Event
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.trace.codec import event_record

__all__ = ["JsonFormatter", "LoggingSink", "event_record"]  # event_record lives in the trace codec

# How loud each kind is; unlisted kinds log at INFO.
_LEVELS: dict[str, int] = {
    "decrypt_ok": logging.DEBUG,
    "decrypt_error": logging.WARNING,
    "retry": logging.INFO,
    "regeneration_failed": logging.ERROR,
    "corrupted": logging.ERROR,
    "action_failed": logging.ERROR,
    "alert_fired": logging.WARNING,
    "health_check": logging.DEBUG,
}


class LoggingSink:
    """Subscribe to a bus and log each event to ``logger`` with its fields in ``extra``.

    The message is a short human line; the structured fields travel as the
    record's ``sessionmgr`` attribute for :class:`JsonFormatter` or any handler.
    ``DecryptOk`` is skipped unless ``include_ok`` is set: it is the bulk of traffic.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        pseudonymizer: Pseudonymizer | None = None,
        *,
        include_ok: bool = False,
    ) -> None:
        self.logger = logger or logging.getLogger("sessionmgr.events")
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        self.include_ok = include_ok

    def __call__(self, event: Event) -> None:
        if isinstance(event, DecryptOk) and not self.include_ok:
            return
        level = _LEVELS.get(event.kind, logging.INFO)
        if not self.logger.isEnabledFor(level):
            return
        data = event_record(event, self.pseudonymizer)
        detail = " ".join(f"{k}={v}" for k, v in data.items() if k not in ("t", "session", "kind", "advised"))
        # an advisory manager's decision must not read as done: "regeneration_succeeded" alone would
        what = f"{event.kind} (advised, not carried out)" if event.advised else event.kind
        self.logger.log(level, "%s session=%s %s", what, data["session"], detail, extra={"sessionmgr": data})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the event's fields when there are any, else the message."""

    def format(self, record: logging.LogRecord) -> str:
        data = getattr(record, "sessionmgr", None)
        out: dict[str, Any] = {"level": record.levelname.lower(), "logger": record.name}
        out.update(data if isinstance(data, dict) else {"msg": record.getMessage()})
        return json.dumps(out, separators=(",", ":"), default=str)
