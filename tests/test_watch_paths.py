"""What sessionmgr watch follows: literal paths as given, glob patterns as the files they match."""

from __future__ import annotations

from pathlib import Path

from sessionmgr.monitoring.watch import is_pattern, matching


def test_a_quoted_glob_is_expanded_to_the_files_it_matches(tmp_path: Path) -> None:
    """'logs/bot-*.log' (as systemd passes it, unexpanded) means the bot logs, not a file named so."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("bot-02.log", "bot-01.log", "other.log", "bot-03.log.1"):
        (logs / name).write_text("")
    (logs / "bot-dir.log").mkdir()
    pattern = logs / "bot-*.log"
    assert is_pattern(pattern)
    assert matching([pattern]) == [logs / "bot-01.log", logs / "bot-02.log"]


def test_literal_paths_are_kept_even_before_they_exist(tmp_path: Path) -> None:
    """A plain path is followed as given (tail -F waits for it); a pattern with no match yet yields nothing."""
    later = tmp_path / "later.log"
    assert not is_pattern(later)
    assert matching([later, later, tmp_path / "none-*.log"]) == [later]
