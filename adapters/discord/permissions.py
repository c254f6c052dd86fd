"""What the bot needs from a server, and who may configure it.

* :data:`BOT_PERMISSIONS`: the invite asks for exactly these (integer 84992): View Channel,
  Send Messages, Embed Links, Read Message History (to look for its own earlier digest post
  before re-sending). Slash-command answers and buttons need none of them (they are
  interaction responses); channel digests and shares posted by the bot itself do.
* :data:`MANAGER_PERMISSIONS`: configuring a channel digest needs Manage Channels. Discord
  applies ``default_member_permissions`` to top-level commands only, and ``/papers digest``
  is a group inside ``/papers`` (whose search and today are for everyone), so the gate is
  :func:`can_manage_channels`, read from the permissions Discord resolved for the
  interaction and passed to the core as ``Caller.can_manage``. :func:`manager_group` builds a
  top-level command hidden from non-managers, should one ever be wanted.
"""

from __future__ import annotations

import base64

import discord
from discord import app_commands

SCOPES = ("bot", "applications.commands")
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, read_message_history=True
)
MANAGER_PERMISSIONS = discord.Permissions(manage_channels=True)
NAMES = {
    "view_channel": "View Channel",
    "read_messages": "View Channel",  # discord.py iterates the old alias
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
    "manage_channels": "Manage Channels",
}


def invite_url(application_id: int | str) -> str:
    """The OAuth2 URL that adds the bot to a server with the commands and :data:`BOT_PERMISSIONS`.

    >>> invite_url(123)
    'https://discord.com/oauth2/authorize?client_id=123&scope=bot+applications.commands&permissions=84992'
    """
    return discord.utils.oauth_url(int(application_id), permissions=BOT_PERMISSIONS, scopes=SCOPES)


def application_id_from_token(token: str) -> int | None:
    """The bot user id a bot token starts with (base64), or ``None`` if it is not a token.

    For most applications the bot's user id is also the application id, so this lets
    ``papersbot discord-invite`` work offline from ``DISCORD_TOKEN``; a few old applications
    differ, so the CLI should also accept the id from the Developer Portal. The token itself
    is neither logged nor returned.
    """
    head = token.strip().removeprefix("Bot ").split(".", 1)[0]
    try:
        text = base64.b64decode(head + "=" * (-len(head) % 4), validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and 15 <= len(text) <= 20 else None


def missing(
    granted: discord.Permissions, needed: discord.Permissions = BOT_PERMISSIONS
) -> list[str]:
    """Human names of the permissions in *needed* that *granted* lacks."""
    has = dict(granted)
    return [
        NAMES.get(name, name.replace("_", " ").title())
        for name, wanted in needed
        if wanted and not has[name]
    ]


def missing_permissions_text(names: list[str] | None = None) -> str:
    """One sentence telling a server admin what to grant the bot."""
    if not names:
        names = missing(discord.Permissions.none())
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"I can't post in that channel: give papersbot {listed} there."


def can_manage_channels(interaction: discord.Interaction[discord.Client]) -> bool:
    """Whether the user may configure this channel: Manage Channels, in a server.

    ``interaction.permissions`` is what Discord itself resolved for the member in this
    channel (roles and overwrites), so it is the server-side check; in a DM it is ``False``.
    """
    return interaction.guild_id is not None and interaction.permissions.manage_channels


def manager_group(name: str, description: str) -> app_commands.Group:
    """A top-level command group that only members with Manage Channels see by default."""
    return app_commands.Group(
        name=name,
        description=description,
        default_permissions=MANAGER_PERMISSIONS,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )
