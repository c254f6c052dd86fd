"""OAuth mode: the Add-to-Slack flow, per-workspace authorization and uninstalls.

Selected by ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` (HTTP mode only: Slack does not
distribute Socket Mode apps). slack-bolt's own :class:`AsyncOAuthFlow` runs the flow:

* ``GET /slack/install`` issues a one-time ``state`` (kept in papersbot's store, bound to the
  browser by a cookie) and shows an Add-to-Slack page linking to
  ``SLACK_OAUTH_AUTHORIZE_URL`` with the manifest's :data:`BOT_SCOPES`;
* ``GET /slack/oauth_redirect`` refuses a state that is forged, expired, already used or
  from another browser with a page saying so (and what to do), exchanges the ``code``
  through ``oauth.v2.access`` on ``SLACK_API_URL``, and saves the installation, sealed,
  through :class:`~adapters.slack.installs.InstallationStore`.

Each request is then authorized with its workspace's token (:class:`LockedAuthorize`), and
``app_uninstalled`` / ``tokens_revoked`` delete the workspace's credentials and stop its
scheduled deliveries until it installs papersbot again.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.state_utils import OAuthStateUtils

from adapters.slack.app import Answering, Responder, add_listeners
from adapters.slack.client import bolt_client
from adapters.slack.delivery import SlackDelivery
from adapters.slack.guard import bolt_logger
from adapters.slack.installs import PLATFORM, StateStore, TooManyInstalls
from adapters.slack.payloads import obj, text
from adapters.slack.tenancy import LockedAuthorize, Tenancy, workspace_of
from bot import ConfigError, Settings

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of adapters/slack/manifest.yml (a test keeps the two the same).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "channels:history",
    "groups:history",
    "im:history",
)
STATE_SECONDS = 600  # an install link works for 10 minutes, once

_FAILURES = {
    "invalid_state": (
        "This install link has expired or was already used",
        "Each link works once, for 10 minutes. Start again from the install page.",
    ),
    "invalid_browser": (
        "This install was started in another browser",
        "Open the install page and finish the install in the same browser.",
    ),
    "access_denied": (
        "The install was cancelled",
        "Nothing was installed. You can start again whenever you like.",
    ),
    "missing_code": (
        "Slack did not send an authorization code",
        "Start again from the install page.",
    ),
    "invalid_code": (
        "Slack did not accept this install",
        "The authorization code was refused or has expired. Start again from the install page.",
    ),
    "storage_error": (
        "The install could not be saved",
        "Please try again in a minute; if it keeps failing, tell the operator.",
    ),
}


def _page(status: int, title: str, body: str, *, link: bool) -> BoltResponse:
    """A small HTML page; every text is escaped."""
    again = f'<p><a href="{INSTALL_PATH}">Add papersbot to Slack</a></p>' if link else ""
    page = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>papersbot: {html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(body)}</p>{again}</body></html>"
    )
    headers: dict[str, str | Sequence[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Set-Cookie": [OAuthStateUtils().build_set_cookie_for_deletion()],
    }
    return BoltResponse(status=status, body=page, headers=headers)


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    found = args.installation
    where = found.enterprise_name if found.is_enterprise_install else found.team_name
    name = where or found.team_id or found.enterprise_id or "your workspace"
    log.info(
        "slack: installed in %s (team %s, enterprise %s)",
        name,
        found.team_id,
        found.enterprise_id,
    )
    body = f"papersbot is now in {name}. Type /papers today in any channel to try it."
    return _page(200, "papersbot is installed", body, link=False)


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    reason = str(args.reason)[:40]
    title, body = _FAILURES.get(reason, ("The install failed", f"Slack said: {reason}."))
    log.warning("slack: install refused (%s)", reason)
    status = 200 if reason == "access_denied" else args.suggested_status_code
    return _page(status, title, body, link=True)


_ASKS = (
    "answer /papers and its buttons (commands)",
    "post answers you share and channel digests where it is invited (chat:write)",
    "send subscribers their papers by direct message (im:write)",
    "read a user's time zone and whether they are an admin (users:read)",
    "find its own earlier posts before it re-sends one (channels/groups/im:history)",
)


class InstallFlow(AsyncOAuthFlow):
    """Bolt's flow with papersbot's own install page; a flood of pending installs gets a
    503 page instead of a new state."""

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        asks = "".join(f"<li>{html.escape(ask)}</li>" for ask in _ASKS)
        return (
            "<!doctype html><html><head><meta charset=utf-8><title>Add papersbot to Slack"
            "</title></head><body><h1>Add papersbot to Slack</h1><p>papersbot brings the "
            "day's trending research papers into Slack. It will be able to:</p>"
            f'<ul>{asks}</ul><p><a href="{html.escape(url)}">Add to Slack</a></p>'
            "<p>This link works once, for 10 minutes, in this browser.</p></body></html>"
        )

    async def handle_installation(self, request: AsyncBoltRequest) -> BoltResponse:
        try:
            return await super().handle_installation(request)
        except TooManyInstalls:
            body = "Too many installs are in progress right now; try again in a few minutes."
            return _page(503, "Please try again shortly", body, link=False)


def oauth_settings(settings: Settings, tenancy: Tenancy) -> AsyncOAuthSettings:
    """Bolt's OAuth settings from papersbot's (the client id and secret must both be set)."""
    secret = settings.slack_client_secret
    if settings.slack_client_id is None or secret is None:
        missing = "SLACK_CLIENT_SECRET" if settings.slack_client_id else "SLACK_CLIENT_ID"
        raise ConfigError(f"{missing} is not set; OAuth mode needs both SLACK_CLIENT_ID and it")
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.slack_oauth_authorize_url,
        installation_store=tenancy.store,
        state_store=StateStore(tenancy.installs, expiration_seconds=STATE_SECONDS),
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
        logger=bolt_logger(),
    )


def build_oauth_app(
    bot: Responder,
    template: SlackDelivery,
    tenancy: Tenancy,
    settings: Settings,
    *,
    signing_secret: str,
    answering: Answering | None = None,
) -> AsyncApp:
    """The Bolt app of OAuth mode: the install flow, ``/papers`` answered with each
    workspace's own token, and uninstalls that stop the workspace's deliveries."""
    flow_settings = oauth_settings(settings, tenancy)
    client = bolt_client(template.client, token=None)
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        oauth_flow=InstallFlow(client=client, logger=bolt_logger(), settings=flow_settings),
        # Bolt takes an AsyncAuthorize instance as it is (annotated as a plain callable).
        authorize=cast(Any, LockedAuthorize)(
            tenancy,
            logger=bolt_logger(),
            installation_store=tenancy.store,
            client_id=flow_settings.client_id,
            client_secret=flow_settings.client_secret,
            token_rotation_expiration_minutes=flow_settings.token_rotation_expiration_minutes,
            client=client,
        ),
        process_before_response=True,
        logger=bolt_logger(),
    )
    add_listeners(
        app,
        bot,
        tenancy.for_context,
        settings.slack_managers,
        workspace_of,
        session=template.client.session,
        answering=answering,
    )
    app.event("app_uninstalled")(Uninstalls(tenancy).on_uninstalled)
    app.event("tokens_revoked")(Uninstalls(tenancy).on_tokens_revoked)
    return app


class Uninstalls:
    """``app_uninstalled`` and ``tokens_revoked``: forget the credentials and stop the
    workspace's deliveries (Bolt runs these without a token check: the token is gone)."""

    def __init__(self, tenancy: Tenancy) -> None:
        self._tenancy = tenancy

    async def on_uninstalled(self, context: AsyncBoltContext) -> None:
        await self._gone(context, "app_uninstalled")

    async def on_tokens_revoked(self, context: AsyncBoltContext, event: dict[str, object]) -> None:
        tokens = obj(event.get("tokens"))
        bots = tokens.get("bot")
        if isinstance(bots, list) and bots:
            await self._gone(context, "tokens_revoked")
            return
        users = tokens.get("oauth")
        for user in users if isinstance(users, list) else []:
            if (user_id := text(user)) is not None:
                await self._tenancy.store.async_delete_installation(
                    enterprise_id=context.enterprise_id,
                    team_id=None if context.is_enterprise_install else context.team_id,
                    user_id=user_id,
                )

    async def _gone(self, context: AsyncBoltContext, why: str) -> None:
        enterprise = context.enterprise_id or ""
        team = "" if context.is_enterprise_install else context.team_id or ""
        stopped = await self._tenancy.installs.uninstalled(PLATFORM, enterprise, team)
        log.warning(
            "slack: %s for %s; credentials deleted, %d deliveries stopped",
            why,
            team or enterprise,
            stopped,
        )
