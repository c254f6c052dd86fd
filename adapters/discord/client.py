"""The Discord client: ``/papers`` slash commands over a gateway connection.

The ``/papers`` group and its typed subcommands live in :mod:`adapters.discord.commands`,
the buttons' presses in :mod:`adapters.discord.buttons`; both receive the core from this
client and answer through :class:`adapters.discord.answers.Answerer`. The composition root
calls :func:`run_discord` (or builds the client with :func:`create_client` first, to hand it
to a courier).

Intents: GUILDS only. Interactions arrive without any intent and the bot reads no messages,
so no privileged intent (members, presences, message content) is ever requested.

Commands are synced at start-up: to ``DISCORD_GUILD_ID`` when set (instant, for development),
else globally (Discord may take up to an hour to show changes). Re-syncing an unchanged set
is a cheap idempotent bulk overwrite.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from adapters.discord.answers import DEFER_AFTER, Answerer
from adapters.discord.buttons import PaperButtons
from adapters.discord.commands import PapersCommands
from adapters.discord.permissions import invite_url
from adapters.discord.shape import CheckedTree
from adapters.discord.views import BUTTON_TEMPLATE
from bot import ConfigError, PapersBot, Settings

log = logging.getLogger(__name__)


def minimal_intents() -> discord.Intents:
    """GUILDS only; see the module docstring."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


def point_at(api_url: str, gateway_url: str) -> None:
    """Send discord.py's REST calls to *api_url* and its gateway connection to *gateway_url*.

    discord.py has no per-client knob for either: ``Route.BASE`` and
    ``DiscordWebSocket.DEFAULT_GATEWAY`` are class attributes, so this is **process-global**
    and applies to every discord.py client in the process. Call it before logging in.
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


async def _on_tree_error(
    interaction: discord.Interaction[PapersClient], error: app_commands.AppCommandError
) -> None:
    """Commands Discord knows but this build does not (an old sync), bad option values, bugs."""
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        log.warning("stale command from Discord: %s", error)
        text = "That command has changed; please try again in a minute."
    elif isinstance(error, app_commands.TransformerError):
        text = "That option value is not valid; check the command's hints."
    else:
        log.error("command failed in interaction %s", interaction.id, exc_info=error)
        text = "Sorry, something went wrong."
    if not interaction.response.is_done():
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


class PapersClient(discord.Client):
    """A discord.py client answering ``/papers`` and its buttons with *bot*.

    The core goes to the command group and the buttons through their constructors.
    *defer_after* is how long the core may work before the interaction is deferred;
    other keyword *options* go to :class:`discord.Client` (tests pass
    ``guild_ready_timeout=0``).
    """

    def __init__(
        self,
        bot: PapersBot,
        *,
        guild_id: int | None = None,
        defer_after: float = DEFER_AFTER,
        **options: Any,  # discord.Client's own options, which discord.py types as Any
    ) -> None:
        options.setdefault("intents", minimal_intents())
        super().__init__(allowed_mentions=discord.AllowedMentions.none(), **options)
        # Set on every (re)connection: the composition root waits for it before handing
        # this client's courier to the dispatcher.
        self.connected = asyncio.Event()
        self.online = False  # the gateway is up now (readiness): False while reconnecting
        self.guild_id = guild_id
        answerer = Answerer(defer_after=defer_after)
        self.buttons = PaperButtons(bot, answerer)
        self.tree: app_commands.CommandTree[PapersClient] = CheckedTree(self)
        self.tree.add_command(PapersCommands(bot, answerer))
        self.tree.error(_on_tree_error)
        self.synced: list[app_commands.AppCommand] = []

    async def setup_hook(self) -> None:
        """After login, before the gateway: register the buttons and sync the commands."""
        self.add_dynamic_items(self.buttons.item_class)
        try:
            if self.guild_id is not None:
                guild = discord.Object(id=self.guild_id)
                self.tree.copy_global_to(guild=guild)
                self.synced = await self.tree.sync(guild=guild)
            else:
                self.synced = await self.tree.sync()
        except discord.Forbidden as exc:
            raise ConfigError(
                f"setting DISCORD_GUILD_ID={self.guild_id}: Discord refused the command sync "
                "(is the bot in that server, invited with the applications.commands scope?)"
            ) from exc
        where = f"guild {self.guild_id}" if self.guild_id is not None else "globally"
        log.info("synced %d command(s) %s", len(self.synced), where)
        if self.application_id is not None:
            log.info("invite URL: %s", invite_url(self.application_id))

    async def on_ready(self) -> None:
        user_id = self.user.id if self.user is not None else "?"
        log.info("connected to Discord as %s (%s)", self.user, user_id)
        self.online = True
        self.connected.set()

    async def on_resumed(self) -> None:
        self.online = True

    async def on_disconnect(self) -> None:
        self.online = False

    async def on_interaction(self, interaction: discord.Interaction[PapersClient]) -> None:
        """Buttons outside our ``pb:`` namespace (an older build's) get the core's polite error."""
        if interaction.type is not discord.InteractionType.component:
            return
        data = interaction.data
        custom_id = str(data.get("custom_id", "")) if data is not None else ""
        if BUTTON_TEMPLATE.fullmatch(custom_id) is None:
            await self.buttons.press(interaction, custom_id)


def create_client(
    bot: PapersBot,
    settings: Settings,
    **options: Any,  # PapersClient's and discord.Client's options, as in PapersClient
) -> PapersClient:
    """A client for *bot*, with discord.py pointed at the settings' URLs (see :func:`point_at`)."""
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    return PapersClient(bot, guild_id=settings.discord_guild_id, **options)


async def run_discord(
    bot: PapersBot, settings: Settings, *, client: PapersClient | None = None
) -> None:
    """Log in, connect and answer ``/papers`` until cancelled; always closes the connection.

    Raises :class:`~bot.errors.ConfigError` naming the setting when ``DISCORD_TOKEN`` is
    missing or rejected, or the guild sync is refused.
    """
    if settings.discord_token is None:
        raise ConfigError("setting DISCORD_TOKEN is missing")
    client = client or create_client(bot, settings)
    async with client:
        try:
            await client.start(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            raise ConfigError("setting DISCORD_TOKEN was rejected by Discord") from None
