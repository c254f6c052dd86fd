"""The operations HTTP server: ``/healthz``, ``/readyz`` and ``/metrics`` on
``PAPERSBOT_HEALTH_HOST:PAPERSBOT_HEALTH_PORT``, in every mode (Discord, Slack Socket Mode or
HTTP, the console).

aiohttp's server (already a dependency of the Slack adapter) on its own port, sharing the
bot's event loop: no thread, no second process. Only GET (and HEAD) of the three paths; the
answers come from :class:`~bot.ops.health.Operations`. No access log: a scraper every 15 s
would drown the bot's own lines.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.ops.health import PATHS, Operations

log = logging.getLogger(__name__)


def ops_routes(operations: Operations) -> list[web.RouteDef]:
    """GET routes for every operations path, for this server or another aiohttp app."""

    async def handle(request: web.Request) -> web.Response:
        answer = await operations.answer(request.path)
        headers = {"Content-Type": answer.content_type, "Cache-Control": "no-store"}
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    return [web.get(path, handle) for path in PATHS]


@asynccontextmanager
async def serve_ops(operations: Operations, host: str, port: int) -> AsyncIterator[str]:
    """Serve the operations paths on *host*:*port* until the block ends; yields the URL
    (port 0 picks a free one). A busy port raises ``OSError`` naming it."""
    app = web.Application()
    app.add_routes(ops_routes(operations))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot serve PAPERSBOT_HEALTH_PORT on {host}:{port}: {exc.strerror}"
            ) from None
        bound_host, bound_port = runner.addresses[0][:2]
        url = f"http://{bound_host}:{bound_port}"
        log.info("operations: %s/healthz, /readyz and /metrics", url)
        yield url
    finally:
        await runner.cleanup()
