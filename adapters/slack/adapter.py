"""The Slack adapter as the composition root drives it (:class:`bot.Adapter`)."""

from __future__ import annotations

import asyncio
import contextlib

from adapters.slack import SlackRuntime, open_slack
from adapters.slack.courier import SlackCourier
from bot import Observer, Operations, PapersBot, Settings, WorkspaceInstalls


class SlackAdapter:
    """``open_slack`` held open between :meth:`start` and :meth:`stop`."""

    name = "Slack"

    def __init__(
        self,
        bot: PapersBot,
        settings: Settings,
        *,
        operations: Operations | None = None,
        observer: Observer | None = None,
        installs: WorkspaceInstalls | None = None,
    ) -> None:
        self._bot = bot
        self._settings = settings
        self._operations = operations
        self._observer = observer
        self._installs = installs  # OAuth mode's workspaces (None without a secret key)
        self._stack = contextlib.AsyncExitStack()
        self._runtime: SlackRuntime | None = None
        self._started = asyncio.Event()
        self._stopped = asyncio.Event()

    @property
    def runtime(self) -> SlackRuntime | None:
        """The running adapter (app, delivery, the bound URL in HTTP mode), once started."""
        return self._runtime

    @property
    def courier(self) -> SlackCourier | None:
        return self._runtime.courier if self._runtime is not None else None

    @property
    def ready(self) -> bool:
        """Started, and (Socket Mode) the WebSocket is open now."""
        return self._runtime is not None and self._runtime.connected()

    async def start(self) -> None:
        """Check the token with ``auth.test`` (OAuth mode: the stored tokens' key), then
        serve HTTP, Socket Mode or OAuth mode."""
        self._runtime = await self._stack.enter_async_context(
            open_slack(
                self._bot,
                self._settings,
                self._installs,
                operations=self._operations,
                observer=self._observer,
            )
        )
        self._started.set()

    async def until_ready(self) -> None:
        await self._started.wait()

    async def closed(self) -> None:
        await self._stopped.wait()  # Slack's clients reconnect on their own; only stop() ends it

    async def stop(self) -> None:
        self._runtime = None
        self._stopped.set()
        await self._stack.aclose()
