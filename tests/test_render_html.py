"""The HTML page: what to do, stacked error bars, a swimlane whose marks do not hide each other, clock times."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from harness.replay import run_replay
from harness.simulate import SimConfig, run_simulation
from sessionmgr.report.charts import swimlane
from sessionmgr.report.compare import comparison
from sessionmgr.report.html import render_html
from sessionmgr.report.humanize import Clock
from sessionmgr.report.panels import input_panel
from sessionmgr.trace.readers import Reader

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def replayed() -> dict[str, Any]:
    """The example trace: bot-02's regeneration fails, it is corrupted and cleaned at one instant."""
    return run_replay([Reader(EXAMPLES / "simulation.trace.jsonl"), Reader(EXAMPLES / "bot-01.baileys.log")]).report


@pytest.fixture(scope="module")
def page(replayed: dict[str, Any]) -> str:
    return render_html(replayed)


def test_the_legend_icons_are_not_stretched_by_a_page_wide_svg_rule(page: str) -> None:
    """The size rule applies to the plots only, and legends hold no SVG a rule could stretch."""
    style = page[page.index("<style>") : page.index("</style>")]
    assert not re.search(r"(^|[}\s])svg\s*\{", style), "an svg rule that would hit every svg"
    for legend in re.findall(r'<ul class="legend">.*?</ul>', page):
        assert "<svg" not in legend


def test_marks_at_one_instant_are_moved_apart(page: str) -> None:
    """bot-02's failed regeneration, corruption and cleanup stay visible side by side, exact times in tooltips."""
    rows: dict[str, list[float]] = defaultdict(list)
    for row, x in re.findall(r'<g class="mark" data-kind="[^"]+" data-row="(\d+)" data-x="([\d.]+)"', page):
        rows[row].append(float(x))
    assert rows
    for xs in rows.values():
        assert all(b - a >= 12.9 for a, b in itertools.pairwise(xs))
    assert "bot-02: regeneration failed at 2026-01-01 00:15:53 UTC" in page
    assert "bot-02: marked corrupted at 2026-01-01 00:15:53 UTC" in page


def test_times_are_clock_times_not_raw_seconds(page: str) -> None:
    """Tooltips and tables give clock times and human durations, never '953 s'."""
    titles = re.findall(r"<title>(.*?)</title>", page)
    assert titles
    assert not [t for t in titles if re.search(r"\b\d{3,}(\.\d+)? s\b", t)]
    assert not re.search(r"\d+\.\d{3} s", page.split("<details>")[0])


def test_errors_are_stacked_bars(page: str) -> None:
    """Each time bin is one column of rectangles, one per category, stacked without gaps; no lines."""
    chart = page[page.index('id="errors-chart"') : page.index("</svg>", page.index('id="errors-chart"'))]
    assert "<polyline" not in chart
    columns: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for x, y, h in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill', chart):
        columns[x].append((float(y), float(h)))
    assert any(len(c) > 1 for c in columns.values()), "some bin holds more than one category"
    for column in columns.values():
        column.sort()
        for (y1, h1), (y2, _) in itertools.pairwise(column):
            assert abs(y1 + h1 - y2) < 0.2


def test_replay_page_names_its_files_and_says_what_to_do(page: str) -> None:
    """A replay's page lists each input file with its line accounting, and the re-pairing to do."""
    files = page[page.index('id="input"') :]
    assert "simulation.trace.jsonl" in files and "bot-01.baileys.log" in files
    assert "<td class=num>407</td><td class=num>406</td><td class=num>1</td><td>header 1</td>" in files
    assert "Re-pair bot-02" in page[: page.index('id="errors"')]


def test_with_and_without_the_manager_is_a_plot() -> None:
    """A simulation compared with its run without the manager shows both as bars of messages lost."""
    config = SimConfig(sessions=3, peers_per_session=5, hours=2, message_interval=120, fault_scale=3.0)
    report = run_simulation(config)
    without = run_simulation(dataclasses.replace(config, manager=False))
    report = {**report, "comparison": comparison(report["delivery"], without["delivery"])}
    html = render_html(report)
    section = html[html.index('id="delivery"') : html.index("</section>", html.index('id="delivery"'))]
    assert section.count('class="hbar"') == 2 and "without manager" in section
    assert len(html.encode()) < 1_000_000 and "http" not in html


def test_outcomes_section_only_when_the_report_has_outcomes(replayed: dict[str, Any]) -> None:
    """Message outcomes are drawn when the report counts them, and the page does without otherwise."""
    assert 'id="outcomes"' not in render_html({k: v for k, v in replayed.items() if k != "messages"})
    messages = {"outcomes": {"resolved_sender": 30, "resolved_phone": 5, "expired": 2, "lost": 1},
                "waited_s": {"resolved_sender": {"mean": 2.5, "max": 465.155}}}  # fmt: skip
    html = render_html({**replayed, "messages": messages})
    section = html[html.index('id="outcomes"') :]
    assert "resolved by the phone" in section and "7 min 45 s" in section and "78.9 %" in section


def test_baseline_rows_are_plotted_when_the_report_has_them(replayed: dict[str, Any]) -> None:
    """With comparison.baselines, one bar per recovery (ours, each client's own, none), named for a person."""
    rows = [{"recovery": name, "sent": 1000, "delivered": 1000 - lost, "lost": lost, "resolve_p50_s": p50}
            for name, lost, p50 in (("ours", 4, 2.0), ("baileys", 40, 465.155), ("whatsmeow", 30, 60.0),
                                    ("none", 200, None))]  # fmt: skip
    delivery = {"sent": 1000, "delivered": 996, "lost": 4, "delivered_ratio": 0.996}
    report = {**replayed, "delivery": delivery, "comparison": {"messages_saved": 196, "baselines": rows}}
    html = render_html(report)
    section = html[html.index('id="delivery"') : html.index("</section>", html.index('id="delivery"'))]
    assert section.count('class="hbar"') == 4
    assert "Baileys&#x27; own recovery" in section and "no recovery" in section
    assert "resolved in 7 min 45 s (median)" in section and "96.00 % delivered" in section


def test_many_sessions_keep_the_busy_ones_and_say_how_many_are_left_out() -> None:
    """Past 60 rows, sessions where something happened are kept, quiet ones fill up, and the rest is counted."""
    names = [f"bot-{i:03}" for i in range(100)]
    report: dict[str, Any] = {
        "sessions": {n: {"status": "healthy"} for n in names},
        "alerts": [],
        "timeline": {"actions": [[10.0, "regeneration_succeeded", "bot-099"]], "unhealthy": {}, "down": {}},
    }
    svg, hidden = swimlane(report, Clock({"from": None, "to": "2026-01-01T01:00:00.000Z", "seconds": 3600.0}))
    assert hidden == 40 and svg.count('class="name"') == 60
    assert ">bot-099<" in svg and ">bot-000<" in svg and ">bot-059<" not in svg


def test_the_input_panel_says_how_many_lines_were_out_of_order() -> None:
    """The input panel of a file with lines out of time order counts them and says how they were replayed."""
    report = run_replay([Reader(EXAMPLES / "bot-07.pm2-compose.log")]).report
    assert "5 lines dated before an earlier line of the same file" in input_panel(report)
