"""Makes the samples of Go loggers and of collectors' prefixes (run: python tests/samples/make_text_samples.py).

Go tools do not install here, so their lines are built from the format strings in
their source, cited at each one; the prefixed and wrapped file is built from the
real pino/libsignal output make_samples.mjs wrote (baileys-full.log, pretty-default.log).
Numbers are made up.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
SENDER = "5511900000001@s.whatsapp.net"
GROUP = "120363000000000001@g.us"


def whatsmeow_stdout(clock: str | None, module: str, level: str, msg: str) -> str:
    """tulir/whatsmeow util/log/log.go:65: fmt.Printf("%s%s [%s %s] %s%s\\n", time "15:04:05.000", color, mod, level, msg, reset)."""
    line = f"[{module} {level}] {msg}"
    return f"{clock} {line}" if clock else line  # wrappers that print without the time


def failure(message_id: str | None, sender: str, chat: str, error: str) -> str:
    """whatsmeow message.go:410 "Error decrypting message %s from %s: %v" (before 6110de34: no id);
    the source is types/message.go SourceString: "%s in %s" (sender, chat)."""
    id_part = f"{message_id} " if message_id else ""
    return f"Error decrypting message {id_part}from {sender} in {chat}: {error}"


def main() -> None:
    # whatsmeow's errors wrap go.mau.fi/libsignal's (signalerror/errors.go) as message.go:601/612/640 do
    stdout = [
        whatsmeow_stdout("09:30:00.000", "Client", "INFO", "Successfully authenticated"),
        whatsmeow_stdout(
            "09:30:01.250",
            "Client",
            "WARN",
            failure(
                "3EB0A1", SENDER, SENDER, "failed to decrypt prekey message: prekey store didn't return one-time key"
            ),
        ),
        # the event whatsmeow dispatches for the same failure, printed by a bot with %+v
        "09:30:01.251 &{Info:{MessageSource:{Chat:" + SENDER + " Sender:" + SENDER + " IsFromMe:false} ID:3EB0A1 "
        "Type:text} IsUnavailable:false UnavailableType: DecryptFailMode:} *events.UndecryptableMessage",
        whatsmeow_stdout(
            "09:30:02.500",
            "Client",
            "WARN",
            failure(
                None, SENDER, SENDER, "failed to decrypt normal message: no session found for user 5511900000001.0"
            ),
        ),
        # go-libsignal's default logger (RadicalApp/libsignal-protocol-go logger/DefaultLogger.go:19-25):
        # fmt.Println("[ERROR]", time RFC3339, caller, "▶ ", msg)
        "[ERROR] 2026-01-05T09:30:03Z SessionCipher.go ▶  mismatching MAC in signal message",
        whatsmeow_stdout(
            "09:30:03.000",
            "Client",
            "WARN",
            failure("3EB0A2", SENDER, SENDER, "failed to decrypt normal message: mismatching MAC in signal message"),
        ),
        whatsmeow_stdout(
            None,
            "Client",
            "WARN",
            failure(
                "3EB0A3",
                "5511900000002@s.whatsapp.net",
                GROUP,
                "failed to decrypt group message: no sender key state for key ID",
            ),
        ),
        # not a Signal failure: whatsmeow mediaretry.go:131 wrapped by the caller
        whatsmeow_stdout(
            "09:30:05.000",
            "Client",
            "WARN",
            "Failed to decrypt media retry notification: failed to decrypt notification: bad decrypt",
        ),
        # a bot that prints the event only (no whatsmeow log line for it)
        "&{Info:{MessageSource:{Chat:" + GROUP + " Sender:5511900000003@s.whatsapp.net} ID:3EB0A4} "
        "IsUnavailable:true} *events.UndecryptableMessage",
    ]
    (HERE / "whatsmeow-stdout.log").write_text("\n".join(stdout) + "\n")
    # rs/zerolog console.go: parts time (time.Kitchen by default), level (3 letters), message, then key=value
    console = [
        "9:30AM INF Successfully authenticated sublogger=Client",
        "9:30AM WRN "
        + failure("3EB0B1", SENDER, SENDER, "failed to decrypt prekey message: invalid PreKey ID")
        + " sublogger=Client",
        "2026-01-05T09:31:00Z WRN "
        + failure("3EB0B2", SENDER, SENDER, "failed to decrypt normal message: received message with old counter")
        + " sublogger=Client",
    ]
    (HERE / "zerolog-console.log").write_text("\n".join(console) + "\n")
    # zerolog's JSON writer through whatsmeow util/log/zerolog.go:27 (Warn().Msgf, "sublogger" field)
    json_lines = [
        '{"level":"info","sublogger":"Client","time":"2026-01-05T09:30:00Z","message":"Successfully authenticated"}',
        '{"level":"warn","sublogger":"Client","time":"2026-01-05T09:30:01Z","message":"'
        + failure("3EB0C1", SENDER, SENDER, "failed to decrypt normal message: mismatching MAC in signal message")
        + '"}',
    ]
    (HERE / "zerolog.jsonl").write_text("\n".join(json_lines) + "\n")
    mixed_prefixed()
    evolution()


def evolution_line(level: str, context: str, value: str, *, color: bool = False) -> str:
    """EvolutionAPI/evolution-api src/config/logger.config.ts Logger.console: console.log's arguments joined by
    spaces; the date is dayjs(...).toDate().toString() without " GMT..."; with LOG.COLOR, v<version> and colours."""
    date = "Mon Jan 05 2026 09:30:03  "
    if not color:
        return " ".join(["[Evolution API]", "4242", "-", date, f"{level} ", f"[{context}]", "[string]", value])
    bright, reset, red, white = "\x1b[1m", "\x1b[0m", "\x1b[31m", "\x1b[37m"
    parts = [
        bright + red + "%s" + reset,
        "[Evolution API]",
        bright + red,
        "v2.2.3",
        bright + red,
        "4242",
        reset,
        bright + red,
        "-",
        bright + white,
        date,
        reset,
        red + "\x1b[41m" + bright,
        f"{level} " + reset,
        "\x1b[33m" + bright,
        f"[{context}]" + reset,
        red + bright,
        "[string]" + reset,
        red,
        value,
        reset,
    ]
    # console.log with a format string first: "%s" takes the next argument
    return parts[0].replace("%s", parts[1]) + " " + " ".join(parts[2:])


def evolution() -> None:
    """Evolution API's text logger around Baileys; the failure texts are libsignal-node's and Baileys' own."""
    lines = [
        evolution_line("INFO", "ChannelStartupService", "Connection state: open"),
        evolution_line("ERROR", "ChannelStartupService", "failed to decrypt message: Bad MAC"),
        evolution_line("ERROR", "ChannelStartupService", "failed to decrypt message: Invalid PreKey ID", color=True),
        evolution_line("WARN", "ChannelStartupService", "Failed to decrypt media retry notification"),
    ]
    (HERE / "evolution-api.log").write_text("\n".join(lines) + "\n")


def mixed_prefixed() -> None:
    """One file as an operator might keep it: pm2, compose, syslog and CSV prefixes, CRLF, 80-column wraps."""
    full = (HERE / "baileys-full.log").read_text().splitlines()
    pretty = (HERE / "pretty-default.log").read_text().splitlines()
    out: list[str] = []
    for number, line in enumerate(full):
        # pm2 lib/API/Log.js (stream): pad(pm_id + '|' + name, min_padding) + ' | '
        prefixed = "0|bot  | " + line
        if number == 9 and len(prefixed) > 80:
            # a terminal's hard wrap at 80 columns
            out += [prefixed[i : i + 80] for i in range(0, len(prefixed), 80)]
        else:
            out.append(prefixed)
    # docker compose v2: "<service>-<n>" padded, then " | "
    out += ["bot-2  | " + line for line in pretty[:40]]
    # journald/syslog (RFC 3164): "Mmm dd hh:mm:ss host ident[pid]: "
    out += ["Jan  5 09:31:00 host node[4242]: " + line for line in full[2:4]]
    # a CSV export: epoch ms, then the line quoted
    out += ['1767605470000,"' + full[9].replace('"', '""') + '"']
    (HERE / "mixed-prefixed.log").write_bytes(("\r\n".join(out) + "\r\n").encode())


if __name__ == "__main__":
    main()
