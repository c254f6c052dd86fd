"""``Database.exclusive``: one holder of a name at a time, across processes on PostgreSQL
(here two stores on one database, each with its own pool, as two processes have)."""

from __future__ import annotations

import asyncio

from bot.store import Database, is_postgres, open_database


async def _hold(store: Database, name: str, log: list[str], who: str) -> None:
    async with store.exclusive(name):
        log.append(f"{who} in")
        await asyncio.sleep(0.2)
        log.append(f"{who} out")


async def test_holders_of_one_name_take_turns(database: Database, database_url: str) -> None:
    other = await open_database(database_url) if is_postgres(database_url) else database
    log: list[str] = []
    try:
        await asyncio.gather(
            _hold(database, "slack-token-refresh:T1", log, "a"),
            _hold(other, "slack-token-refresh:T1", log, "b"),
            _hold(database, "slack-token-refresh:T1", log, "c"),
        )
    finally:
        if other is not database:
            await other.close()
    # never two inside at once: every "in" is followed by its own "out"
    assert [entry.split()[1] for entry in log] == ["in", "out"] * 3
    assert [entry.split()[0] for entry in log[::2]] == [e.split()[0] for e in log[1::2]]


async def test_other_names_do_not_wait(database: Database) -> None:
    async with (
        database.exclusive("slack-token-refresh:T1"),
        asyncio.timeout(5),
        database.exclusive("slack-token-refresh:T2"),
    ):
        pass


async def test_holders_of_many_names_never_starve_the_store(database_url: str) -> None:
    """Each holder reads through the store inside its block (a token refresh looks its
    installation up): more names at once than the store has connections must not wait for
    each other forever."""
    if is_postgres(database_url):
        from bot.store.pg.db import PgStore

        store: Database = await PgStore.open(database_url, pool_size=2)
    else:
        store = await open_database(database_url)

    async def refresh(team: str) -> None:
        async with store.exclusive(f"slack-token-refresh:{team}"):
            await store.installations.workspaces("slack")
            await asyncio.sleep(0.05)

    try:
        async with asyncio.timeout(20):
            await asyncio.gather(*(refresh(f"T{i}") for i in range(12)))
    finally:
        await store.close()
