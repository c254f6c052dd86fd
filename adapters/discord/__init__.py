"""The Discord adapter: ``/papers`` slash commands, embeds, buttons and DMs via discord.py.

Public API for the composition root and the CLI:

    run_discord(bot, settings, *, client=None)   connect and answer until cancelled
    create_client(bot, settings, **options)      the client, for a Deliverer built beside it
    DiscordCourier(client)                       the core's Courier: scheduled posts and DMs
    Deliverer(client).post_to_channel / dm_user  the delivery primitives under it
    invite_url(application_id)                   the OAuth2 invite (``papersbot discord-invite``)

Importing this package imports discord.py; the core never does. discord.py 2.7 imports the
standard library's ``audioop`` for voice, which Python 3.11-3.12 flag as deprecated (on 3.13+
discord.py uses ``audioop-lts``); papersbot has no voice, so that one warning is silenced here,
where every import of the adapter starts, instead of failing a ``-W error`` run.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from adapters.discord.client import PapersClient, create_client, point_at, run_discord
from adapters.discord.courier import DiscordCourier
from adapters.discord.delivery import Deliverer
from adapters.discord.outcomes import Delivery, Outcome
from adapters.discord.pacing import Pacer
from adapters.discord.permissions import BOT_PERMISSIONS, invite_url

__all__ = [
    "BOT_PERMISSIONS",
    "Deliverer",
    "Delivery",
    "DiscordCourier",
    "Outcome",
    "Pacer",
    "PapersClient",
    "create_client",
    "invite_url",
    "point_at",
    "run_discord",
]
