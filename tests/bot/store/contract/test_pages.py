"""Search pages on both stores: a stable token per query, refused after its TTL, pruned;
and a search that is not patient gives up on its token quickly when the row is locked."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.errors import StoreError
from bot.store import Database, is_postgres
from bot.store.pages import PAGE_TTL, token_for
from bot.store.rows import ts

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)


async def test_a_token_names_its_query_until_it_expires(database: Database) -> None:
    token = await database.pages.save("diffusion author:ho", now=T0)
    assert token == token_for("diffusion author:ho")
    assert len(token) == 16
    assert await database.pages.load(token) == "diffusion author:ho"
    assert await database.pages.load(token, now=T0 + PAGE_TTL) == "diffusion author:ho"
    assert await database.pages.load(token, now=T0 + PAGE_TTL + timedelta(seconds=1)) is None
    assert await database.pages.load("0123456789abcdef") is None


async def test_using_a_token_again_renews_it_and_prune_forgets_old_ones(
    database: Database,
) -> None:
    old = await database.pages.save("old", now=T0)
    renewed = await database.pages.save("renewed", now=T0)
    assert await database.pages.save("renewed", now=T0 + timedelta(days=20)) == renewed
    assert await database.pages.prune(before=T0 + timedelta(days=1)) == 1
    assert await database.pages.load(old) is None
    assert await database.pages.load(renewed) == "renewed"
    assert await database.pages.prune(before=T0 + timedelta(days=1)) == 0


async def test_an_impatient_save_gives_up_while_another_writer_holds_the_lock(
    database: Database, database_url: str
) -> None:
    query = "held"
    if is_postgres(database_url):
        other = await asyncpg.connect(database_url)
        holder = other.transaction()
        await holder.start()
        await other.execute(  # another process writing the same token, not yet committed
            "INSERT INTO search_pages (token, query, created_at) VALUES ($1, $2, $3)",
            token_for(query),
            query,
            ts(T0),
        )
        try:
            started = time.monotonic()
            with pytest.raises(StoreError, match="search page"):
                await database.pages.save(query, now=T0, patient=False)
            assert time.monotonic() - started < 2.0
        finally:
            await holder.rollback()
            await other.close()
    else:
        with closing(sqlite3.connect(database_url, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            started = time.monotonic()
            with pytest.raises(StoreError, match="search page"):
                await database.pages.save(query, now=T0, patient=False)
            assert time.monotonic() - started < 2.0
            other.execute("ROLLBACK")
    assert await database.pages.save(query, now=T0, patient=False) == token_for(query)
    assert await database.pages.load(token_for(query)) == query
