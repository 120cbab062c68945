"""The HTML reports as a person sees them: rendered in headless Chromium and checked on the page.

Run with ``python -m pytest -m browser``. Needs Chromium (Debian: ``apt-get install
chromium``; elsewhere set SESSIONMGR_CHROMIUM to a Chrome/Chromium binary); without
it these tests skip, saying so, and CI (.ci/run installs it) fails on the skip.
Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sessionmgr.cli import main
from tests.chromium import Chromium, find_chromium

pytestmark = pytest.mark.browser

VIEWPORTS = ((1280, 800), (800, 900))
HOW = (
    "Chromium not found: install it (Debian: apt-get install chromium) or set SESSIONMGR_CHROMIUM "
    "to a Chrome/Chromium binary, then run python -m pytest -m browser"
)

# Everything measured in one pass over the rendered page.
MEASURE = """(() => {
  const vw = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5))
    .map(([e, r]) => `${e.tagName}.${e.className.baseVal ?? e.className} ${r.left.toFixed(0)}..${r.right.toFixed(0)}`);
  const legend = [...document.querySelectorAll('li.key')].map(li => {
    const sw = li.querySelector('.sw').getBoundingClientRect();
    const label = li.querySelector('.label').getBoundingClientRect();
    return {colour: li.dataset.colour, paint: getComputedStyle(li.querySelector('.sw')).backgroundColor,
            text: li.textContent, sw: [sw.left, sw.right, sw.top, sw.bottom],
            label: [label.left, label.right, label.top, label.bottom]};
  });
  const marks = [...document.querySelectorAll('#swimlane g.mark')].map(g => {
    const r = g.getBoundingClientRect();
    return [r.left, r.right, r.top, r.bottom, g.querySelector('title').textContent];
  });
  return {
    viewport: [vw, window.innerHeight], scrollWidth: document.documentElement.scrollWidth,
    timeline: document.getElementById('swimlane').getBoundingClientRect().top + window.scrollY,
    todo: document.getElementById('todo').innerText, wide, legend, marks,
    height: document.documentElement.scrollHeight,
  };
})()"""


def _rgb(colour: str) -> str:
    value = colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(HOW)
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The default simulation's report and a replay of two example files under two policies."""
    out = tmp_path_factory.mktemp("pages")
    examples = Path(__file__).resolve().parent.parent / "examples"
    runs = {
        "simulation": ["simulate", "-q", "--html", str(out / "simulation.html")],
        "replay": ["replay", "-q", str(examples / "simulation.trace.jsonl"), str(examples / "bot-01.baileys.log"),
                   "--sweep", "unhealthy_threshold=3,5", "--html", str(out / "replay.html")],
    }  # fmt: skip
    for args in runs.values():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    pages = {name: out / f"{name}.html" for name in runs}
    for page in pages.values():
        assert page.stat().st_size < 1_000_000, f"{page.name} is heavier than 1 MB"
    return pages


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Chromium]:
    with Chromium(chromium_path) as chromium:
        yield chromium


def _render(browser: Chromium, page: Path, width: int, height: int, shots: Path) -> dict[str, Any]:
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                 deviceScaleFactor=1, mobile=False)  # fmt: skip
    browser.events.clear()
    browser.open(page)
    measured: dict[str, Any] = browser.evaluate(MEASURE)
    measured["errors"] = browser.console_errors()
    browser.screenshot(shots / f"{page.stem}-{width}.png")
    browser.screenshot(shots / f"{page.stem}-{width}-first-screen.png", full_page=False)
    return measured


@pytest.mark.parametrize("name", ["simulation", "replay"])
@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_report_reads_well_in_a_browser(
    browser: Chromium, pages: dict[str, Path], name: str, width: int, height: int, request: pytest.FixtureRequest
) -> None:
    """Nothing wider than the window, the swimlane within two screens, legends beside their colours, no errors."""
    shots = request.config.rootpath / "artifacts" / "screenshots"
    page = _render(browser, pages[name], width, height, shots)
    assert page["errors"] == []
    assert page["wide"] == [] and page["scrollWidth"] <= page["viewport"][0]
    assert page["timeline"] < 2 * height, f"the swimlane starts at y={page['timeline']:.0f}"
    assert page["legend"], "the page has legends"
    for key in page["legend"]:
        sw_left, sw_right, sw_top, sw_bottom = key["sw"]
        label_left, _, label_top, label_bottom = key["label"]
        assert key["paint"] == _rgb(key["colour"]), key["text"]
        assert sw_right - sw_left <= 16 and sw_bottom - sw_top <= 16, f"swatch of {key['text']!r} is not small"
        assert 0 <= label_left - sw_right <= 12, f"{key['text']!r} is not right beside its swatch"
        assert abs((sw_top + sw_bottom) / 2 - (label_top + label_bottom) / 2) <= 6, key["text"]
    marks = page["marks"]
    assert marks, "the swimlane has marks"
    for i, a in enumerate(marks):
        for b in marks[i + 1 :]:
            overlap_x = min(a[1], b[1]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[2], b[2])
            assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{a[4]!r} hides {b[4]!r}"


def test_simulation_report_says_what_to_do(browser: Chromium, pages: dict[str, Path]) -> None:
    """The default simulation's page tells the operator to re-pair the session whose keys could not be saved."""
    browser.events.clear()
    browser.open(pages["simulation"])
    todo = browser.evaluate("document.getElementById('todo').innerText")
    assert "Re-pair bot-02" in todo
