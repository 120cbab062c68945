"""``sessionmgr scrub``: a captured log with phone numbers pseudonymized and content dropped."""

from __future__ import annotations

from pathlib import Path

import click

from sessionmgr.cli.options import open_out

__all__ = ["scrub"]


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    envvar="SESSIONMGR_PSEUDONYM_KEY",
    required=True,
    help="Secret that keys the fake numbers (same key, same fakes). Or set SESSIONMGR_PSEUDONYM_KEY.",
)
def scrub(source: Path, target: Path, key: str) -> None:
    """Copy a captured log with every phone number replaced by a consistent fake one and
    message content dropped; everything a replay needs is kept."""
    from sessionmgr.trace.readers import open_text
    from sessionmgr.trace.scrub import Scrubber

    if source.resolve() == target.resolve():
        raise click.BadParameter("refusing to overwrite the source; give another TARGET", param_hint="TARGET")
    try:
        scrubber = Scrubber(key.encode())
        with open_text(source) as lines, open_out(target, "scrubbed log") as out:
            count = sum(1 for line in scrubber.lines(lines) if out.write(line) is not None)
    except ImportError as exc:
        raise click.ClickException(
            f"scrub needs the harness extra ({exc.name}): pip install 'sessionmgr[harness]'"
        ) from None
    target.chmod(0o600)
    click.echo(f"{count} lines scrubbed into {target}", err=True)
