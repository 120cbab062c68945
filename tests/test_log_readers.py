"""Operators' logs: every format read from a real tool's output (tests/samples), failures counted once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sessionmgr import Category, DecryptError
from sessionmgr.cli import main as cli
from sessionmgr.cli.replay import EXIT_UNREAD
from sessionmgr.events import Event
from sessionmgr.trace.readers import Reader

SAMPLES = Path(__file__).parent / "samples"
C = Category
PEER = "5511900000001@s.whatsapp.net"


def read(name: str, **kw: object) -> tuple[list[Event], Reader]:
    reader = Reader(SAMPLES / name, **kw)  # type: ignore[arg-type]
    return [located.event for located in reader], reader


def failures(events: list[Event]) -> list[DecryptError]:
    return [e for e in events if isinstance(e, DecryptError)]


def shape(event: Event, *, with_date: bool = True) -> tuple[object, ...]:
    """What a reading says of one event; the date left out for layouts that print only the time of day."""
    when = event.at.isoformat() if with_date else event.at.timetz().isoformat()
    fields = event.fields()
    return (event.kind, when, *(str(fields.get(k)) for k in ("peer", "message_id", "message_type", "category",
                                                              "error", "error_type", "causes", "open")))  # fmt: skip


FULL_LOG_FAILURES = [
    ("MSG00002", C.BAD_MAC, ("Error: Bad MAC",)),
    ("MSG00003", C.DUPLICATE, ("MessageCounterError: Key used already or never filled",)),
    ("MSG00004", C.NO_SESSION, ()),
    ("MSG00005", C.PREKEY, ()),
]


def test_full_baileys_log_counts_each_failure_once_with_its_root_cause() -> None:
    """pino lines after libsignal's console blocks (made by pino + libsignal): one failure each, the block its cause."""
    events, reader = read("baileys-full.log")
    assert [(e.message_id, e.category, e.causes) for e in failures(events)] == FULL_LOG_FAILURES
    stats = reader.stats
    assert (stats.format, stats.rejected_count, stats.time_summary()) == ("baileys", 0, "known")
    assert stats.events + sum(stats.ignored.values()) + stats.rejected_count == stats.lines


def test_libsignal_console_alone_is_one_failure_per_block() -> None:
    """libsignal-node's console output with no pino line: each block is a failure, with its category."""
    events, reader = read("libsignal-console.log")
    assert [(e.category, e.error, e.causes) for e in failures(events)] == [
        (C.BAD_MAC, "No matching sessions found for message", ("Error: Bad MAC",)),
        (C.DUPLICATE, "No matching sessions found for message",
         ("MessageCounterError: Key used already or never filled",)),
    ]  # fmt: skip
    assert len(events) == 2
    stats = reader.stats
    assert (stats.format, stats.time_summary()) == ("libsignal", "unknown")  # no invented times
    assert stats.events + sum(stats.ignored.values()) + stats.rejected_count == stats.lines


@pytest.mark.parametrize("name", ["pretty-epoch.log", "pretty-syslog-time.log", "pretty-utc-iso.log"])
def test_pino_pretty_with_dates_agrees_with_pino_json_event_for_event(name: str) -> None:
    """pino-pretty's renderings of the log that carry a date read as the same events as its pino JSON."""
    json_events, _ = read("baileys-full.log")
    pretty_events, reader = read(name)
    assert [shape(e) for e in pretty_events] == [shape(e) for e in json_events]
    assert (reader.stats.format, reader.stats.rejected_count, reader.stats.time_summary()) == (
        "pino-pretty", 0, "known",
    )  # fmt: skip


@pytest.mark.parametrize("name", ["pretty-default.log", "pretty-single-line.log"])
def test_pino_pretty_time_of_day_layouts_agree_and_say_the_date_was_not_known(name: str) -> None:
    """The default and single-line layouts print only the time of day: same events, and the report says so."""
    json_events, _ = read("baileys-full.log")
    pretty_events, reader = read(name)
    assert [shape(e, with_date=False) for e in pretty_events] == [shape(e, with_date=False) for e in json_events]
    assert reader.stats.time_summary() == "time of day"
    assert reader.stats.rejected_count == 0


def test_mixed_file_with_prefixes_wraps_and_crlf() -> None:
    """pm2, compose, syslog and CSV prefixes, CRLF and an 80-column wrap in one file: all read, none rejected."""
    events, reader = read("mixed-prefixed.log")
    stats = reader.stats
    assert stats.rejected_count == 0
    assert dict(stats.prefixes) == {"pm2": 20, "compose": 40, "syslog": 2, "csv": 1}
    assert stats.ignored["hard-wrapped line"] > 0
    got = [(e.message_id, e.category) for e in failures(events)]
    # the pm2 part (with the wrapped line) holds the whole log; then the compose part's pretty rendering
    assert got[:4] == [(m, c) for m, c, _ in FULL_LOG_FAILURES]
    assert got[4] == ("MSG00002", C.BAD_MAC)
    # the syslog-prefixed console block is the cause of the CSV-exported pino line after it
    last = failures(events)[-1]
    assert (last.message_id, last.causes) == ("MSG00002", ("Error: Bad MAC",))


def test_node_inspect_pretty_json_and_older_baileys_records() -> None:
    """Records over several lines (util.inspect, pretty JSON) and older Baileys' 'failure in decrypting message'."""
    events, reader = read("baileys-objects.log")
    assert [(e.message_id, e.category, e.peer) for e in failures(events)] == [
        ("MSG00006", C.BAD_MAC, PEER),  # util.inspect, messageStubType 2
        ("MSG00008", C.NO_SESSION, PEER),  # JSON.stringify(..., null, 2)
        (None, C.BAD_MAC, PEER),  # failure in decrypting message, trace + params
    ]
    assert reader.stats.ignored["logged message without a decrypt failure"] == 1  # stub 1 is REVOKE
    assert reader.stats.rejected_count == 0


def test_whatsmeow_stdout_lines_dumps_and_go_libsignal() -> None:
    """whatsmeow's logger (with and without time), its event dumps counted once, go-libsignal's line as a cause."""
    events, reader = read("whatsmeow-stdout.log")
    assert [(e.message_id, e.category, e.message_type) for e in failures(events)] == [
        ("3EB0A1", C.PREKEY, "pkmsg"),
        (None, C.NO_SESSION, "msg"),
        ("3EB0A2", C.BAD_MAC, "msg"),
        ("3EB0A3", C.NO_SESSION, "skmsg"),
        ("3EB0A4", C.DECRYPT_FAILED, None),  # a dump with no log line before it
    ]
    assert failures(events)[2].causes == ("mismatching MAC in signal message",)
    ignored = reader.stats.ignored
    assert ignored["whatsmeow event for a failure already counted"] == 1
    assert ignored["log line without a decrypt event"] == 2  # one info line, one media retry (not Signal)
    assert reader.stats.format == "whatsmeow"


def test_zerolog_console_and_json_writers() -> None:
    """zerolog's console (Kitchen and RFC 3339 times, key=value fields) and JSON writers."""
    console, _ = read("zerolog-console.log")
    assert [(e.message_id, e.category) for e in failures(console)] == [("3EB0B1", C.PREKEY), ("3EB0B2", C.DUPLICATE)]
    as_json, reader = read("zerolog.jsonl")
    assert [(e.message_id, e.category, e.at.isoformat()) for e in failures(as_json)] == [
        ("3EB0C1", C.BAD_MAC, "2026-01-05T09:30:01+00:00")
    ]
    assert reader.stats.format == "whatsmeow"


def test_wrong_format_names_the_format_that_fits() -> None:
    """A file read in the wrong --format loses its pino lines, and the accounting names the format that would fit."""
    events, reader = read("pretty-utc-iso.log", format="baileys")
    assert [e.message_id for e in failures(events)] == [None, None]  # only libsignal's console blocks were read
    assert "--format pino-pretty (or auto) reads it" in reader.stats.rejected[0]["reason"]
    assert reader.stats.hint == "--format baileys rejected 7 lines; it looks like --format pino-pretty"


def test_lines_without_times_keep_line_order_and_windows_paths_and_crlf_are_read() -> None:
    """Console blocks with Windows paths and CRLF endings: events in line order, times reported as not known."""
    lines = (SAMPLES / "libsignal-console.log").read_text().splitlines()
    windows = [line.replace("/", "\\").replace("(\\", "(C:\\") + "\r\n" for line in lines]
    reader = Reader("bot.log", lines=windows)
    events = list(reader)
    assert [located.line for located in events] == [1, 8]
    assert reader.stats.rejected_count == 0 and reader.stats.time_summary() == "unknown"


def test_replay_of_a_file_with_nothing_recognisable_fails_loudly(tmp_path: Path) -> None:
    """Replaying a file with no recognisable line is never a clean report with exit 0, unless --allow-empty."""
    path = tmp_path / "app.log"
    path.write_text("Server listening on port 3000\nGET /health 200\n")
    result = CliRunner().invoke(cli, ["replay", str(path)])
    assert result.exit_code == EXIT_UNREAD
    assert "app.log: no event in 2 lines" in result.output
    assert "--allow-empty" in result.output
    accepted = CliRunner().invoke(cli, ["replay", "-q", "--allow-empty", str(path)])
    assert accepted.exit_code == 0


def test_replay_of_a_real_sample_is_not_flagged() -> None:
    """A log whose failures were read replays with exit 0 and the per-file accounting in the JSON report."""
    result = CliRunner().invoke(cli, ["replay", "-q", "--json", "-", str(SAMPLES / "pretty-utc-iso.log")])
    assert result.exit_code == 0, result.output
    assert '"format": "pino-pretty"' in result.output and '"failures": 4' in result.output


def test_evolution_api_logger_plain_and_coloured() -> None:
    """Evolution API's text logger (its format string; colours removed): failures read, media retry not one."""
    events, reader = read("evolution-api.log")
    assert [(e.category, e.error) for e in failures(events)] == [
        (C.BAD_MAC, "failed to decrypt message: Bad MAC"),
        (C.PREKEY, "failed to decrypt message: Invalid PreKey ID"),
    ]
    assert (reader.stats.format, reader.stats.rejected_count) == ("evolution", 0)


def test_a_live_stream_reads_every_kind_of_line_whatever_was_guessed() -> None:
    """watch guesses a format before a live file has lines: a guess still reads pretty blocks and console blocks."""
    lines = iter((SAMPLES / "pretty-utc-iso.log").read_text().splitlines())
    reader = Reader("live.log", format="baileys", lines=lines, guessed=True)
    got = [(e.message_id, e.category) for e in failures([located.event for located in reader])]
    assert got == [(m, c) for m, c, _ in FULL_LOG_FAILURES]
    assert reader.stats.hint is None


# Each collector's prefix, as its own format writes it, before a real pino line from the samples:
# kubectl logs --prefix "[pod/<pod>/<container>] ", stern's default template "{{.PodName}} {{.ContainerName}} ",
# docker logs -t / kubectl --timestamps RFC 3339 with nanoseconds, journalctl -o short-iso, pm2, compose v1.
PREFIXES = [
    ("kubectl", "[pod/bot-7c9f/bot] "),
    ("stern", "bot-7c9f-x4 bot "),
    ("iso", "2026-01-05T09:30:03.500000000Z "),
    ("journal", "2026-01-05T09:30:03+0000 bot-host node[4242]: "),
    ("pm2", "12|whatsapp-bot  | "),
    ("compose", "bot_1  | "),
]


@pytest.mark.parametrize(("kind", "prefix"), PREFIXES, ids=[kind for kind, _ in PREFIXES])
def test_each_collector_prefix_is_taken_off(kind: str, prefix: str) -> None:
    """A real pino failure line behind each collector's prefix reads as the same failure, the prefix counted."""
    line = next(text for text in (SAMPLES / "baileys-pino.jsonl").read_text().splitlines() if "MSG00004" in text)
    reader = Reader("bot.log", lines=[prefix + line])
    assert [(e.message_id, e.category) for e in failures([located.event for located in reader])] == [
        ("MSG00004", C.NO_SESSION)
    ]
    assert dict(reader.stats.prefixes) == {kind: 1}


def test_logfmt_layouts_the_old_epoch_header_and_a_csv_header() -> None:
    """key=value lines (whole, or after a pretty header), pino-pretty's older ``[epoch] LEVEL:`` and a CSV header."""
    lines = [
        "time,message",
        'level=error time=1767605404000 msg="failed to decrypt message" key.remoteJid=' + PEER
        + ' key.id=MSG1 err.type=PreKeyError err.message="Invalid PreKey ID"',
        '[09:30:05.000] ERROR (4242): failed to decrypt message key.id=MSG2 err.message="Bad MAC"',
        "[1767605406000] ERROR: failed to decrypt message",
    ]  # fmt: skip
    reader = Reader("bot.log", lines=lines)
    got = [(e.message_id, e.peer, e.category) for e in failures([located.event for located in reader])]
    assert got == [("MSG1", PEER, C.PREKEY), ("MSG2", None, C.BAD_MAC), (None, None, C.DECRYPT_FAILED)]
    assert reader.stats.ignored["csv header"] == 1 and reader.stats.rejected_count == 0


def wrap(lines: list[str], width: int = 80) -> list[str]:
    """Lines as a terminal hard-wraps them at ``width`` columns."""
    return [line[i : i + width] for line in lines for i in range(0, max(len(line), 1), width)]


@pytest.mark.parametrize("name", ["libsignal-console.log", "whatsmeow-stdout.log", "zerolog-console.log"])
def test_text_lines_hard_wrapped_at_80_columns_read_as_unwrapped(name: str) -> None:
    """Text lines cut at 80 columns are glued back: the same failures, with the full error and cause texts."""
    lines = (SAMPLES / name).read_text().splitlines()
    assert any(len(line) > 80 for line in lines)
    plain = failures([located.event for located in Reader("bot.log", lines=lines)])
    reader = Reader("bot.log", lines=wrap(lines))
    wrapped = failures([located.event for located in reader])
    assert [(e.category, e.error, e.causes, e.message_id) for e in wrapped] == [
        (e.category, e.error, e.causes, e.message_id) for e in plain
    ]
    assert reader.stats.rejected_count == 0


def test_replay_names_the_format_that_fits_a_file_read_in_the_wrong_one() -> None:
    """replay --format baileys on a pino-pretty file says which --format would read it."""
    result = CliRunner().invoke(cli, ["replay", "-q", "--format", "baileys", str(SAMPLES / "pretty-utc-iso.log")])
    assert "it looks like --format pino-pretty" in result.output


def test_an_untimed_log_claims_no_health_transition() -> None:
    """Ten Bad MAC blocks with no time: the replay does not say they fell in one window and made the session unhealthy."""
    from harness.replay import run_replay
    from sessionmgr import HealthChanged

    block = (SAMPLES / "libsignal-console.log").read_text().splitlines()[:7]
    reader = Reader("bot.log", lines=[line + "\n" for line in block * 10])
    result = run_replay([reader], keep_events=True)
    errors = [e for e in result.events or [] if isinstance(e, DecryptError)]
    assert len(errors) == 10 and all(e.category is C.BAD_MAC for e in errors)
    assert [e for e in result.events or [] if isinstance(e, HealthChanged)] == []
    assert result.report["input"]["files"][0]["times"] == "unknown"
