"""The Discord adapter as the composition root drives it (:class:`bot.Adapter`)."""

from __future__ import annotations

import asyncio
import contextlib

from adapters.discord.client import PapersClient, create_client, run_discord
from adapters.discord.courier import DiscordCourier
from adapters.discord.waits import RateLimitWaits
from bot import Observer, PapersBot, Settings


class DiscordAdapter:
    """One gateway connection (:func:`run_discord`) in a task between :meth:`start` and
    :meth:`stop`; its courier exists once the client is connected."""

    name = "Discord"

    def __init__(
        self, bot: PapersBot, settings: Settings, *, observer: Observer | None = None
    ) -> None:
        self._bot = bot
        self._settings = settings
        self._waits = RateLimitWaits(observer) if observer is not None else None
        self.client: PapersClient = create_client(bot, settings)
        self._courier: DiscordCourier | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def courier(self) -> DiscordCourier | None:
        if self._courier is None and self.ready:
            self._courier = DiscordCourier(self.client)
        return self._courier

    @property
    def ready(self) -> bool:
        """Connected to the gateway now (false while discord.py reconnects)."""
        return self.client.connected.is_set() and self.client.online

    async def start(self) -> None:
        """Log in and connect in the background (a rejected token surfaces in :meth:`closed`
        and :meth:`until_ready` as a ConfigError naming ``DISCORD_TOKEN``)."""
        if self._task is None:
            if self._waits is not None:
                self._waits.attach()
            self._task = asyncio.create_task(
                run_discord(self._bot, self._settings, client=self.client), name="discord"
            )

    async def until_ready(self) -> None:
        assert self._task is not None, "start() first"
        connected = asyncio.ensure_future(self.client.connected.wait())
        try:
            await asyncio.wait({connected, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            connected.cancel()
        if not self.ready:
            await self._task  # it ended first: raise its error
            raise ConnectionError("the Discord connection closed before it was ready")

    async def closed(self) -> None:
        assert self._task is not None, "start() first"
        await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._waits is not None:
            self._waits.detach()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
