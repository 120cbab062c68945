"""``sessionmgr watch``: follow live logs and advise, with metrics and a health endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Any

import click

from sessionmgr.cli.options import (
    RAW_IDS_OPTION,
    STORE_OPTION,
    close_store,
    load_policy,
    open_store_option,
    reading_options,
)
from sessionmgr.monitoring.logsink import JsonFormatter
from sessionmgr.pseudonym import Pseudonymizer

__all__ = ["watch"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@reading_options("Log format; auto guesses from what each file holds already.")
@click.option(
    "--listen",
    default="127.0.0.1:9464",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve /metrics and /health.",
)
@click.option(
    "--token", envvar="SESSIONMGR_TOKEN", help="Require 'Authorization: Bearer TOKEN' (or set SESSIONMGR_TOKEN)."
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy TOML (SESSIONMGR_* variables apply on top).",
)
@click.option("--from-start", is_flag=True, help="Read what the files hold already, not only what is appended.")
@click.option("--log-json", is_flag=True, help="Log the manager's events as JSON lines on stderr.")
@STORE_OPTION
@RAW_IDS_OPTION
@click.option(
    "--webhook",
    "webhook_url",
    metavar="URL",
    envvar="SESSIONMGR_WEBHOOK_URL",
    help=(
        "POST each alert that fires or resolves as JSON to this http(s) URL (or set SESSIONMGR_WEBHOOK_URL, "
        "which keeps a URL that holds a secret out of the process list). Set SESSIONMGR_WEBHOOK_TOKEN to send "
        "'Authorization: Bearer TOKEN'. Retried on network errors and 5xx, never on 4xx; each alert carries "
        "an id (also the Idempotency-Key header) for de-duplication."
    ),
)
@click.option(
    "--webhook-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on one POST after this long (then retry); shutdown waits at most 10 s for unsent alerts.",
)
def watch(
    paths: tuple[Path, ...],
    fmt: str,
    session: str | None,
    session_field: str | None,
    listen: str,
    token: str | None,
    policy_path: Path | None,
    from_start: bool,
    log_json: bool,
    store_url: str | None,
    raw_ids: bool,
    webhook_url: str | None,
    webhook_timeout: float,
) -> None:
    """Follow live log files (as tail -F does) and advise: the manager's decisions are
    logged and exported as metrics, never carried out.

    \b
    A quoted pattern ('logs/bot-*.log') follows the files it matches, and new ones as they appear.

    \b
    Serves Prometheus metrics on /metrics and a JSON health report on /health.
    Stops cleanly on SIGTERM or Ctrl-C.
    """
    try:
        from sessionmgr.monitoring.alert_sinks import WebhookSink
        from sessionmgr.monitoring.watch import watch as run_watch
    except ImportError as exc:
        raise click.ClickException(
            f"watch needs the monitoring extra ({exc.name} is missing): pip install 'sessionmgr[monitoring]'"
        ) from None
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise click.BadParameter(f"expected HOST:PORT, got {listen!r}", param_hint="--listen")
    host = host.strip("[]")
    if webhook_url is not None and urllib.parse.urlsplit(webhook_url).scheme not in ("http", "https"):
        raise click.BadParameter("expected an http:// or https:// URL", param_hint="--webhook")
    if host not in ("127.0.0.1", "::1", "localhost") and token is None:
        click.echo(f"warning: serving on {host} with no --token: anyone who can reach it can read it", err=True)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_json else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for name in ("sessionmgr",):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    store = open_store_option(store_url)
    # watch's stderr is usually a journal: the files' names are shown as the sessions they name;
    # one pseudonymizer for the logs, metrics and webhook, so all show the same pseudonyms
    pseudonymizer = Pseudonymizer(raw=raw_ids)

    def ready(server: Any) -> None:
        where = f"http://{listen.rsplit(':', 1)[0]}:{server.port}"
        click.echo(
            f"watching {', '.join(pseudonymizer.path(str(p)) for p in paths)}; /metrics and /health on {where}",
            err=True,
        )

    policy = load_policy(policy_path)

    async def run() -> None:
        sinks: contextlib.AbstractAsyncContextManager[WebhookSink | None] = contextlib.nullcontext()
        if webhook_url is not None:
            bearer = os.environ.get("SESSIONMGR_WEBHOOK_TOKEN")  # never an option: argv is visible to every user
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            sinks = WebhookSink(webhook_url, timeout=webhook_timeout, headers=headers, pseudonymizer=pseudonymizer)
        async with sinks as webhook:  # closed after the manager: alerts resolved at shutdown are sent too
            await run_watch(
                list(paths), format=fmt, session=session, session_field=session_field, host=host, port=int(port_text),  # type: ignore[arg-type]
                token=token, store=store, policy=policy, from_start=from_start, on_ready=ready,
                pseudonymizer=pseudonymizer, subscribers=() if webhook is None else (webhook,),
            )  # fmt: skip

    try:
        asyncio.run(run())
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {listen}: {exc.strerror}") from None
    finally:
        close_store(store)
    click.echo("stopped", err=True)
