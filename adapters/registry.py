"""The registry entries of the adapters shipped with papersbot (entry-point group
``papersbot.adapters`` in ``pyproject.toml``).

Loading an entry imports no platform SDK: each imports its package (slack-bolt, discord.py)
only when the composition root creates the adapter, so ``papersbot demo`` never loads them.
A third-party adapter ships an :class:`~bot.AdapterPlugin` of its own the same way.
"""

from __future__ import annotations

from bot import (
    Adapter,
    AdapterContext,
    AdapterPlugin,
    ConfigError,
    Settings,
    Terminal,
    TerminalPlugin,
)


def _console(context: AdapterContext) -> Terminal:
    from adapters.console import ConsoleAdapter

    return ConsoleAdapter(context.bot, clock=context.clock)


def _slack(context: AdapterContext) -> Adapter:
    from adapters.slack.adapter import SlackAdapter

    return SlackAdapter(
        context.bot,
        context.settings,
        installs=context.installs,
        operations=context.operations,
        observer=context.observer,
    )


def _discord(context: AdapterContext) -> Adapter:
    from adapters.discord.adapter import DiscordAdapter

    return DiscordAdapter(context.bot, context.settings, observer=context.observer)


def _discord_invite(settings: Settings, application_id: str | None) -> str:
    """The OAuth2 URL that adds the bot to a server, with exactly the permissions it needs."""
    from adapters.discord.permissions import application_id_from_token, invite_url

    app_id: int | str | None = application_id
    if app_id is None and settings.discord_token is not None:
        app_id = application_id_from_token(settings.discord_token.get_secret_value())
    if app_id is None or not str(app_id).isdigit():
        raise ConfigError(
            "set DISCORD_TOKEN or pass --application-id (the number on the Developer "
            "Portal's General Information page)"
        )
    return invite_url(app_id)


CONSOLE = TerminalPlugin(name="console", create=_console)
SLACK = AdapterPlugin(name="slack", configured=lambda s: s.slack_configured, create=_slack)
DISCORD = AdapterPlugin(
    name="discord",
    configured=lambda s: s.discord_configured,
    create=_discord,
    invite_url=_discord_invite,
    one_session=True,  # one gateway session per bot: one process runs it (bot.cli.elected)
)
