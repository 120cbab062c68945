"""What several commands share: the reading options, the store option, loading a policy, writing outputs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from sessionmgr.policy import ENV_PREFIX, Policy, PolicyError
from sessionmgr.store import Store, open_store
from sessionmgr.store.sqlite import StoreError
from sessionmgr.trace.readers import FORMATS

__all__ = [
    "EXIT_STORE",
    "RAW_IDS_OPTION",
    "STORE_OPTION",
    "StoreUnusable",
    "close_store",
    "load_policy",
    "open_out",
    "open_store_option",
    "reading_options",
    "write",
]

F = TypeVar("F", bound=Callable[..., Any])


def reading_options(format_help: str) -> Callable[[F], F]:
    """--format, --session and --session-field, as every command that reads logs takes them."""

    options = (
        click.option(
            "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help=format_help
        ),
        click.option("--session", help="Session id for logs that do not name one (default: each file's name)."),
        click.option("--session-field", metavar="FIELD", help="JSON field of a Baileys log that names the session."),
    )

    def apply(command: F) -> F:
        for option in reversed(options):  # applied bottom-up, so --help lists them in this order
            command = option(command)
        return command

    return apply


RAW_IDS_OPTION = click.option(
    "--raw-ids",
    is_flag=True,
    help="Show phone numbers in session ids, peers and file names as they are (default: keyed pseudonyms).",
)

STORE_OPTION = click.option(
    "--store",
    "store_url",
    metavar="PATH|URL",
    help=(
        "Keep the manager's decisions in this store: a SQLite file, sqlite:///path or "
        "postgresql://user@host/db, which several workers may share (default: in memory). A store that "
        "cannot be used (not a database, another application's, locked, unreadable) exits with status 4."
    ),
)


def load_policy(path: Path | None) -> Policy:
    """The policy from ``path`` (or the defaults) with SESSIONMGR_* variables on top.

    A bad file is a usage error of --policy; a bad variable is named as the variable,
    since no option is at fault (there may be no --policy at all).
    """
    try:
        base = Policy() if path is None else Policy.from_toml(path)
    except PolicyError as exc:
        # "<file>" stands for the file as a whole (unreadable, not TOML): no field to name
        message = f"{exc.source}: {exc.reason}" if exc.field == "<file>" else str(exc)
        raise click.BadParameter(message, param_hint="--policy") from None
    try:
        return base.with_env()
    except PolicyError as exc:
        variable = f"{ENV_PREFIX}{exc.field.split('.')[0].upper()}"
        raise click.ClickException(f"environment variable {variable}: {exc.reason}") from None


def open_out(path: Path, what: str) -> IO[str]:
    """``path`` opened for writing; failing that, an error that says what could not be written where."""
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the {what} to {path}: {exc.strerror}") from None


def write(target: str, text: str, what: str) -> None:
    """Write ``text`` to the file ``target`` ('-' for stdout) and say so on stderr."""
    if target == "-":
        click.echo(text)
        return
    try:
        Path(target).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the {what} to {target}: {exc.strerror}") from None
    click.echo(f"{what} written to {target}", err=True)


#: The exit status when the store cannot be used (not a database, another application's, locked, unreadable).
EXIT_STORE = 4


class StoreUnusable(click.ClickException):
    """The store --store names cannot be used: one line naming it and why, exit status :data:`EXIT_STORE`."""

    exit_code = EXIT_STORE


def open_store_option(url: str | None, *, read_only: bool = False) -> Store | None:
    """The store --store names, opened now (so a bad one fails before the run), or ``None`` (the
    run keeps its own in memory). ``read_only`` never creates, migrates or changes a SQLite file."""
    if url is None:
        return None
    try:
        store = open_store(url, read_only=read_only)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from None
    connect: Callable[[], Coroutine[Any, Any, None]] | None = getattr(store, "connect", None)
    if connect is not None:
        try:
            asyncio.run(connect())
        except StoreError as exc:
            close_store(store)
            raise StoreUnusable(f"cannot use the store {exc}") from None
    return store


def close_store(store: Store | None) -> None:
    """Close a store opened by :func:`open_store_option` (outside any running loop)."""
    if store is not None:
        asyncio.run(store.close())
