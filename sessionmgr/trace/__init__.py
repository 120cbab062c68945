"""Traces and logs in: the canonical codec, the readers, the follower, scrub.

- ``codec``: the canonical trace (records, writer, decoding); ``lines``: line accounting.
- ``readers``: one :class:`~sessionmgr.trace.readers.Reader` per input; ``detect``: the format guess.
- Whole-file formats: ``canonical`` (the trace), ``seed`` (the seed's log).
- Operators' logs, read line by line by ``logs``: ``baileys`` (pino records, stubs), ``pretty``
  (pino-pretty), ``logfmt``, ``libsignal_console``, ``golang`` (whatsmeow, zerolog, go-libsignal),
  ``evolution`` (Evolution API), with ``prefixes`` (pm2, compose, kubectl, syslog, CSV),
  ``multiline`` (records over lines, hard wraps), ``causes`` (libsignal blocks waiting for their
  failure line) and ``times`` (how much of each printed time was known).
- ``follow``: ``tail -F``; ``scrub``: consistent fake numbers, no content.
"""
