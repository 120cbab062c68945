"""``sessionmgr classify``: the category the manager gives an error text."""

from __future__ import annotations

import click

from sessionmgr.classify import classify

__all__ = ["classify_command"]


@click.command("classify")
@click.argument("texts", nargs=-1, required=True)
def classify_command(texts: tuple[str, ...]) -> None:
    """Print the category of each error TEXT (as the manager would judge it)."""
    for text in texts:
        click.echo(f"{classify(text)}\t{text}")
