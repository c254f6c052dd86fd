"""The Slack adapter: ``/papers`` with Block Kit replies, buttons, DMs and channel posts.

For the composition root::

    await run_slack(bot, settings)   # runs until cancelled, then cleans up

It checks ``SLACK_BOT_TOKEN`` with ``auth.test`` first (a bad token is a ``ConfigError``
naming the setting), then serves either

* **Socket Mode** when ``SLACK_APP_TOKEN`` is set (no public URL needed), or
* **HTTP mode** with ``SLACK_SIGNING_SECRET``: an aiohttp server on
  ``SLACK_HTTP_HOST:SLACK_HTTP_PORT`` with ``POST /slack/events`` (slash command and
  interactivity requests, signature-checked) and ``GET /healthz``; given the core's
  :class:`~bot.Operations`, also ``/readyz`` and ``/metrics`` (the same answers as the
  operations server of ``PAPERSBOT_HEALTH_PORT``), or
* **OAuth mode** (HTTP, many workspaces) when ``SLACK_CLIENT_ID`` and
  ``SLACK_CLIENT_SECRET`` are set: no ``SLACK_BOT_TOKEN``; ``/slack/install`` and
  ``/slack/oauth_redirect`` add workspaces, and each is served with its own stored token
  (:mod:`.oauth`, :mod:`.tenancy`, :mod:`.installs`). ``PAPERSBOT_SECRET_KEY`` is required.

:func:`open_slack` is the same as an async context manager and yields a
:class:`SlackRuntime` (the app, the delivery primitives, the :class:`SlackCourier` for the
dispatcher, the bound URL in HTTP mode).

Modules: :mod:`.render` (Reply → Block Kit), :mod:`.app` (Bolt listeners),
:mod:`.delivery` (posting, DMs, metadata look-ups, users, pacing), :mod:`.errors` (what a
failed Slack call means), :mod:`.courier` (scheduled deliveries: the core's ``Courier``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from adapters.slack.app import Answering, Responder, build_app
from adapters.slack.client import RateLimited, build_client
from adapters.slack.courier import SlackCourier
from adapters.slack.delivery import SlackDelivery
from adapters.slack.errors import AUTH_ERRORS
from adapters.slack.guard import guard
from adapters.slack.oauth import INSTALL_PATH, build_oauth_app
from adapters.slack.tenancy import Tenancy
from bot import OPS_PATHS, ConfigError, Observer, Operations, Settings, WorkspaceInstalls

__all__ = [
    "EVENTS_PATH",
    "HEALTH_PATH",
    "SlackCourier",
    "SlackRuntime",
    "open_slack",
    "run_slack",
]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True, slots=True)
class SlackRuntime:
    """A running Slack adapter."""

    app: AsyncApp
    delivery: SlackDelivery
    courier: SlackCourier  # for the dispatcher's scheduled deliveries
    mode: str  # "http", "socket" or "oauth"
    url: str | None = None  # HTTP mode: e.g. http://127.0.0.1:3000 (events at /slack/events)
    # Whether Slack can reach the bot now (readiness): HTTP mode, while the server runs;
    # Socket Mode, while the WebSocket is open and not stale (false while it reconnects).
    connected: Callable[[], bool] = lambda: True


def _socket_open(handler: AsyncSocketModeHandler) -> bool:
    """The Socket Mode connection is up: slack_sdk's ``is_connected`` without its async
    ping check (readiness is asked synchronously)."""
    client = handler.client
    session = client.current_session
    return not client.closed and not client.stale and session is not None and not session.closed


def _mode(settings: Settings) -> str:
    if settings.slack_oauth:
        if settings.slack_app_token is not None:
            raise ConfigError(
                "SLACK_APP_TOKEN (Socket Mode) cannot serve several workspaces: unset it, or "
                "unset SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for one workspace"
            )
        if settings.slack_signing_secret is None:
            raise ConfigError("SLACK_SIGNING_SECRET is not set; OAuth mode serves HTTP requests")
        return "oauth"
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set")
    if settings.slack_app_token is not None:
        return "socket"
    if settings.slack_signing_secret is not None:
        return "http"
    raise ConfigError(
        "set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode) "
        "as well as SLACK_BOT_TOKEN"
    )


async def _check_app_token(delivery: SlackDelivery, app_token: str) -> None:
    """Fail fast on a bad app-level token (the Socket Mode client would retry forever)."""
    try:
        await delivery.client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown"))
        hint = (
            " (it must start with xapp- and have connections:write)" if code in AUTH_ERRORS else ""
        )
        raise ConfigError(f"SLACK_APP_TOKEN was rejected by Slack ({code}){hint}") from None


def _web_app(
    app: AsyncApp, settings: Settings, operations: Operations | None = None
) -> web.Application:
    web_app = app.server(port=settings.slack_http_port, path=EVENTS_PATH).web_app
    web_app.middlewares.append(guard(EVENTS_PATH))  # malformed requests: 400, not 500

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "mode": "http"})

    async def ops(request: web.Request) -> web.Response:
        assert operations is not None
        answer = await operations.answer(request.path)
        headers = {"Content-Type": answer.content_type, "Cache-Control": "no-store"}
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    if operations is None:
        web_app.router.add_get(HEALTH_PATH, health)
    else:
        for path in OPS_PATHS:
            web_app.router.add_get(path, ops)
    return web_app


@asynccontextmanager
async def _serve(
    app: AsyncApp, settings: Settings, operations: Operations | None
) -> AsyncIterator[str]:
    """Serve *app* over HTTP (and *operations* beside it); yield its base URL."""
    runner = web.AppRunner(_web_app(app, settings, operations), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.slack_http_host, settings.slack_http_port)
        await site.start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}"
        log.info("slack: listening on %s%s (health: %s)", url, EVENTS_PATH, HEALTH_PATH)
        yield url
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _draining(answering: Answering) -> AsyncIterator[None]:
    """On the way out (after the server has stopped taking requests), give the answers
    already acknowledged their time to finish."""
    try:
        yield
    finally:
        await answering.drain()


@asynccontextmanager
async def _open_oauth(
    bot: Responder,
    settings: Settings,
    installs: WorkspaceInstalls | None,
    operations: Operations | None,
    waited: RateLimited | None,
) -> AsyncIterator[SlackRuntime]:
    """OAuth mode: no token of its own; every workspace's comes from the store."""
    if installs is None:
        raise ConfigError(
            "PAPERSBOT_SECRET_KEY is not set; Slack OAuth mode (SLACK_CLIENT_ID) stores each "
            "workspace's token encrypted with it. Generate one with `papersbot secret-key`"
        )
    stored = await installs.check("slack")  # a wrong key stops here, naming the setting
    if settings.slack_bot_token is not None:
        log.warning("slack: OAuth mode ignores SLACK_BOT_TOKEN; each workspace has its own")
    secret = settings.slack_signing_secret
    assert secret is not None  # _mode checked
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        template = SlackDelivery(build_client(settings, session=session, token=""))
        tenancy = Tenancy(
            settings, installs, session=session, pacer=template.pacer, on_rate_limit=waited
        )
        courier = SlackCourier.per_workspace(template, tenancy)
        answering = Answering()
        app = build_oauth_app(
            bot,
            template,
            tenancy,
            settings,
            signing_secret=secret.get_secret_value(),
            answering=answering,
        )
        async with _draining(answering), _serve(app, settings, operations) as url:
            workspaces = await installs.workspaces("slack")
            log.info(
                "slack: OAuth mode, installed in %d workspaces (%d records); add more at %s%s",
                workspaces,
                stored,
                url,
                INSTALL_PATH,
            )
            yield SlackRuntime(app, template, courier, "oauth", url)


@asynccontextmanager
async def open_slack(
    bot: Responder,
    settings: Settings,
    installs: WorkspaceInstalls | None = None,
    *,
    operations: Operations | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[SlackRuntime]:
    """Start the Slack adapter (HTTP, Socket Mode or OAuth mode per *settings*; OAuth mode
    keeps its workspaces in *installs*); stop it on exit. In HTTP and OAuth mode its port
    also serves *operations* (``/healthz``, ``/readyz``, ``/metrics``); *observer* hears
    the 429 waits slack_sdk absorbs."""
    mode = _mode(settings)
    waited = None if observer is None else (lambda s: observer.rate_limited("slack", s))
    if mode == "oauth":
        async with _open_oauth(bot, settings, installs, operations, waited) as runtime:
            yield runtime
        return
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        delivery = SlackDelivery(build_client(settings, session=session, on_rate_limit=waited))
        await delivery.check_auth()
        # Scheduled posts go through a client that never resends blindly (see build_client),
        # sharing the per-channel pacer and the bot's identity.
        posting = SlackDelivery(
            build_client(settings, session=session, blind_retries=False, on_rate_limit=waited),
            pacer=delivery.pacer,
        )
        posting.identity = delivery.identity
        courier = SlackCourier(posting)
        managers = settings.slack_managers
        secret = settings.slack_signing_secret
        if mode == "socket" and settings.slack_app_token is not None:
            app_token = settings.slack_app_token.get_secret_value()
            await _check_app_token(delivery, app_token)
            answering = Answering()
            app = build_app(
                bot, delivery, signing_secret=None, managers=managers, answering=answering
            )
            handler = AsyncSocketModeHandler(app, app_token=app_token, web_client=delivery.client)
            # slack_bolt does not annotate connect_async / close_async, and strict mypy
            # refuses calls to unannotated functions: hence the two ignores below.
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode")
            try:
                yield SlackRuntime(
                    app, delivery, courier, "socket", connected=lambda: _socket_open(handler)
                )
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
                await answering.drain()
            return
        signing = secret.get_secret_value() if secret else None
        answering = Answering()
        app = build_app(
            bot, delivery, signing_secret=signing, managers=managers, answering=answering
        )
        async with _draining(answering), _serve(app, settings, operations) as url:
            yield SlackRuntime(app, delivery, courier, "http", url)


async def run_slack(
    bot: Responder, settings: Settings, installs: WorkspaceInstalls | None = None
) -> None:
    """Run the Slack adapter until cancelled (the composition root's entry point)."""
    async with open_slack(bot, settings, installs):
        await asyncio.Event().wait()
