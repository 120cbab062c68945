"""The ``sessionmgr`` command: the click group, one command per module."""

from __future__ import annotations

import click

from sessionmgr import __version__
from sessionmgr.cli.classify import classify_command
from sessionmgr.cli.replay import replay
from sessionmgr.cli.scrub import scrub
from sessionmgr.cli.simulate import simulate
from sessionmgr.cli.status import status
from sessionmgr.cli.watch import watch

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sessionmgr")
def main() -> None:
    """Watch Signal-protocol decryption failures on WhatsApp bots and recover from them.

    \b
    Start with the simulation, which breaks real (simulated) Signal sessions
    and shows what the manager does about it:
      sessionmgr simulate
      sessionmgr simulate --seed 7 --hours 6 --html report.html
    """


for _command in (simulate, replay, scrub, watch, status, classify_command):
    main.add_command(_command)
