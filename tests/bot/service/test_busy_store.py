"""Another process holding SQLite's write lock: searches still answer, writers wait for
the lock (within the busy timeout) instead of failing at once; search tokens expire."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from bot.model.caller import Caller
from bot.service.papersbot import PapersBot
from bot.sources.hf_parse import parse_items
from bot.store import Store
from bot.store.pages import PAGE_TTL
from tests.conftest import NOW
from tests.fakes.clock import Clock

USER = Caller(platform="slack", user_id="U1", channel_id="C1", workspace_id="T1")


@contextmanager
def writer_holding_the_lock(path: Path, *, release_after: float | None = None) -> Iterator[None]:
    """A second connection (as another process would) inside ``BEGIN IMMEDIATE``; released
    at the end of the block, or by a timer after *release_after* seconds."""
    with closing(sqlite3.connect(path, check_same_thread=False)) as other:
        other.execute("BEGIN IMMEDIATE")
        timer = threading.Timer(release_after, other.commit) if release_after else None
        if timer is not None:
            timer.start()
        try:
            yield
        finally:
            if timer is not None:
                timer.join()
            else:
                other.commit()


async def test_a_search_answers_while_another_process_writes(
    testbot: PapersBot, tmp_path: Path
) -> None:
    with writer_holding_the_lock(tmp_path / "papers.db"):
        reply = await testbot.respond("search diffusion", USER)
    assert not reply.is_error, reply.text
    assert reply.cards
    assert reply.actions == ()  # its token could not be saved: no buttons that would fail
    assert reply.notes == ("The store is busy; run the search again for the buttons.",)
    again = await testbot.respond("search diffusion", USER)  # the lock is gone
    assert [a.kind for a in again.actions] == ["more", "subscribe"]


async def test_a_writer_waits_for_another_process_to_finish(
    store: Store, tmp_path: Path, data_dir: Path
) -> None:
    items = json.loads((data_dir / "hf_daily" / "2025-10-14.json").read_text())
    papers = parse_items(items)
    with writer_holding_the_lock(tmp_path / "papers.db", release_after=0.3):
        result = await store.papers.upsert(papers, seen_at=NOW)
    assert result.new == len(papers)


async def test_a_search_token_expires_and_is_pruned(store: Store) -> None:
    clock = Clock(NOW)
    bot = PapersBot(store=store, clock=clock)
    reply = await bot.respond("search diffusion", USER)
    [more, _] = reply.actions
    clock.advance(days=PAGE_TTL.days - 1)
    assert not (await bot.press(more.value, USER)).is_error  # still good, and used again
    clock.advance(days=PAGE_TTL.days + 1)
    expired = await bot.press(more.value, USER)
    assert expired.is_error
    assert "expired" in expired.text
    assert await store.pages.prune(before=clock() - PAGE_TTL) == 1
    assert await store.pages.prune(before=clock() - PAGE_TTL) == 0
