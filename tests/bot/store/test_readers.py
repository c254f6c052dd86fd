"""Searches read on a pool of read-only connections: side by side, seeing every commit of
the main connection, never writing, closed with the store."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace

import pytest

from bot.grammar.query import parse_query
from bot.search.engine import search
from bot.store import Store
from bot.store.readers import POOL_SIZE, ReadView
from tests.fakes.clock import START

QUERIES = ["diffusion", "language model", '"mixture of experts"', "video -audio", "robot"]


async def test_a_burst_of_searches_reads_side_by_side_with_the_same_answers(
    store: Store,
) -> None:
    expected = {}
    for text in QUERIES:
        page = await search(store, parse_query(text, now=START), now=START)
        expected[text] = [hit.stored.paper.id for hit in page.hits]
    used: set[int] = set()

    async def one(text: str) -> list[str]:
        async with store.readers.reading() as view:
            assert isinstance(view, ReadView)
            used.add(id(view))
            page = await search(view, parse_query(text, now=START), now=START)
            return [hit.stored.paper.id for hit in page.hits]

    texts = QUERIES * 4
    got = await asyncio.gather(*(one(text) for text in texts))
    assert got == [expected[text] for text in texts]
    assert 1 < len(used) <= POOL_SIZE  # several connections, never more than the pool


async def test_a_reader_sees_what_the_main_connection_committed_and_cannot_write(
    store: Store,
) -> None:
    async with store.readers.reading() as view:
        assert isinstance(view, ReadView)
        stored = await store.papers.get("2608.17271")
        assert stored is not None
        fresh = replace(stored.paper, id="2608.99999", title="Quokka telemetry transformers")
        await store.papers.upsert([fresh], seen_at=START)  # committed on the main connection
        page = await search(view, parse_query("quokka", now=START), now=START)
        assert [hit.stored.paper.id for hit in page.hits] == ["2608.99999"]
        with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
            await view.conn.execute("DELETE FROM papers")


async def test_the_pool_closes_with_the_store(store: Store) -> None:
    async with store.readers.reading() as view:
        assert isinstance(view, ReadView)
    await store.close()
    with pytest.raises(ValueError, match="no active connection"):
        await view.conn.execute("SELECT 1")
