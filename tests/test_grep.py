"""grep: the lines a pattern matches in, a chunk at a time, as a line-by-line search finds them."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sessionmgr.trace.grep import grep
from sessionmgr.trace.readers import Reader

MARK = re.compile(r'"kind":"(?:retry|action_failed")')
#: pieces of lines: the marker whole and cut, other text, every line ending
_PIECES = st.sampled_from(
    ['"kind":"retry"', '"kind":"action_failed"', '"kind":"ret', 'ry"', "x", "é", "\n", "\r\n", "\r"]
)


def _by_line(text: str) -> list[str]:
    """The reference: every line, as a text file's iteration gives it, that the pattern finds something in."""
    return [line for line in io.StringIO(text, newline=None) if MARK.search(line)]


@given(st.lists(_PIECES, max_size=60).map("".join), st.integers(min_value=1, max_value=40))
def test_grep_finds_the_lines_a_search_of_each_line_finds(text: str, chunk: int) -> None:
    """Any chunk size (lines longer than a chunk, a marker cut by a chunk's end), any line endings."""
    assert list(grep(io.StringIO(text, newline=None), MARK, chunk=chunk)) == _by_line(text)


def test_a_damaged_gzip_gives_every_marked_line_before_the_damage(tmp_path: Path) -> None:
    """A chunk read across the damage is lost: the lines before it come from a line-by-line read, none twice."""
    lines = [
        f'{{"kind":"retry","n":{i}}}\n' if i % 7 == 0 else f'{{"kind":"ok","n":{i}}}\n' for i in range(150_000)
    ]  # past two chunks
    whole = gzip.compress("".join(lines).encode())
    path = tmp_path / "cut.trace.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])  # cut short
    with gzip.open(path, "rt") as handle:
        expected = []
        try:
            for line in handle:
                if MARK.search(line):
                    expected.append(line)
        except EOFError:
            pass
    found = list(Reader(path).lines_with(MARK))
    assert found == expected and len(found) > 10_000
    assert len(set(found)) == len(found)
