"""OAuth mode: one papersbot serving many workspaces, each through its own bot token.

:class:`Tenancy` hands out a :class:`SlackDelivery` per workspace: for a request, from the
token Bolt's authorize found for it (:meth:`Tenancy.for_context`); for a scheduled post,
from the installation that serves the target's workspace (:meth:`Tenancy.for_workspace`).
With token rotation (``token_rotation_enabled`` in the app's settings) an expiring token is
refreshed first. Refresh tokens are single-use, so each workspace has one lock that both
paths take (:class:`LockedAuthorize` wraps Bolt's authorize in it): two refreshes of one
workspace never race, in one process or in several sharing a PostgreSQL store (the lock is
the store's, :meth:`Database.exclusive`).

A workspace is the team id, or the enterprise id for an org-wide (Enterprise Grid) install
(:func:`workspace_of`): that is the ``workspace`` of its commands, targets and schedules.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import USER_AGENT, RateLimited, build_client
from adapters.slack.delivery import SlackDelivery
from adapters.slack.errors import BUSY_MESSAGE, DeliveryError, Outcome
from adapters.slack.installs import PLATFORM, InstallationStore, build_record
from adapters.slack.pacing import ChannelPacer
from adapters.slack.users import BotIdentity
from bot import Settings, WorkspaceInstalls

log = logging.getLogger(__name__)

ROTATE_MINUTES = 120  # refresh a rotating token this long before it expires (Bolt's default)
MAX_CLIENTS = 1000  # per-token deliveries kept (each remembers its DM channels)
NOT_INSTALLED = "papersbot is not installed in this Slack workspace any more"


def workspace_of(context: AsyncBoltContext) -> str | None:
    """The workspace a request belongs to: its team, or its enterprise when the app is
    installed org-wide."""
    if context.is_enterprise_install and context.enterprise_id:
        return context.enterprise_id
    return context.team_id


class Tenancy:
    """Per-workspace deliveries in OAuth mode (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        installs: WorkspaceInstalls,
        *,
        session: aiohttp.ClientSession,
        pacer: ChannelPacer,
        on_rate_limit: RateLimited | None = None,
    ) -> None:
        self.installs = installs
        self._on_rate_limit = on_rate_limit  # every workspace's 429 waits, for /metrics
        self.store = InstallationStore(installs)
        self._settings = settings
        self._session = session
        self._pacer = pacer
        self._deliveries: OrderedDict[tuple[str, bool], SlackDelivery] = OrderedDict()
        secret = settings.slack_client_secret
        self._rotator = AsyncTokenRotator(
            client_id=settings.slack_client_id or "",
            client_secret=secret.get_secret_value() if secret else "",
            client=AsyncWebClient(
                base_url=settings.slack_api_url, timeout=30, user_agent_prefix=USER_AGENT
            ),
        )

    def lock(self, workspace: str) -> AbstractAsyncContextManager[None]:
        """The lock every token refresh of *workspace* takes: across every process that
        shares the store (PostgreSQL), since a refresh token works once."""
        return self.installs.exclusive(f"{PLATFORM}-token-refresh:{workspace}")

    def delivery(
        self, token: str, identity: BotIdentity, *, posting: bool = False
    ) -> SlackDelivery:
        """The :class:`SlackDelivery` for *token* (kept, so its DM channels are remembered);
        *posting*: for scheduled posts, which are never re-sent blindly."""
        found = self._deliveries.get((token, posting))
        if found is None:
            client = build_client(
                self._settings,
                session=self._session,
                token=token,
                blind_retries=not posting,
                on_rate_limit=self._on_rate_limit,
            )
            found = SlackDelivery(client, pacer=self._pacer)
            self._deliveries[(token, posting)] = found
            if len(self._deliveries) > MAX_CLIENTS:
                self._deliveries.popitem(last=False)
        else:
            self._deliveries.move_to_end((token, posting))
        found.identity = identity
        return found

    def for_context(self, context: AsyncBoltContext) -> SlackDelivery:
        """The delivery for the workspace of a request Bolt has authorized."""
        identity = BotIdentity(
            user_id=context.bot_user_id or "",
            name="papersbot",
            team_id=context.team_id or "",
            bot_id=context.bot_id,
        )
        return self.delivery(context.bot_token or "", identity)

    async def for_workspace(self, workspace: str) -> SlackDelivery | None:
        """The posting delivery for *workspace*, its token refreshed if it rotates and
        expires soon; ``None`` when the bot is not installed there (or the refresh token was
        revoked). Raises :class:`DeliveryError` (``UNAVAILABLE``) when Slack cannot be
        reached to refresh."""
        async with self.lock(workspace):
            bot = build_record(Bot, await self.installs.find_workspace(PLATFORM, workspace))
            if bot is None or not bot.bot_token:
                return None
            if bot.bot_refresh_token:
                try:
                    refreshed = await self._rotator.perform_bot_token_rotation(
                        bot=bot, minutes_before_expiration=ROTATE_MINUTES
                    )
                except SlackTokenRotationError as exc:
                    code = exc.api_error.response.get("error", "unknown")
                    log.warning("slack workspace %s: token refresh refused (%s)", workspace, code)
                    return None
                except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("slack workspace %s: token refresh failed: %s", workspace, exc)
                    raise DeliveryError("network", Outcome.UNAVAILABLE, BUSY_MESSAGE) from None
                if refreshed is not None:
                    await self.store.async_save_bot(refreshed)
                    bot = refreshed
        identity = BotIdentity(bot.bot_user_id or "", "papersbot", bot.team_id or "", bot.bot_id)
        return self.delivery(bot.bot_token or "", identity, posting=True)

    async def suspend(self, workspace: str, reason: str) -> None:
        """Stop *workspace*'s deliveries: its token is gone or refused."""
        await self.installs.suspend(PLATFORM, [workspace], reason=reason)


class LockedAuthorize(AsyncInstallationStoreAuthorize):
    """Bolt's installation-store authorize, holding the workspace's refresh lock."""

    def __init__(self, tenancy: Tenancy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tenancy = tenancy

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **kwargs: Any,
    ) -> AuthorizeResult | None:
        workspace = (enterprise_id if context.is_enterprise_install else team_id) or ""
        async with self._tenancy.lock(workspace):
            return await super().__call__(
                context=context,
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                **kwargs,
            )
