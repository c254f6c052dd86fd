"""Execute commands into neutral replies: the behaviour every adapter shares.

Adapters call :meth:`PapersBot.respond` (typed text) or :meth:`PapersBot.press` (a button
value). Errors a user can fix become a one-sentence reply; anything unexpected is logged
once with its traceback and answered with a short apology carrying an error id.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol, assert_never

from bot.errors import NotFound, PapersbotError, SourceError, StoreError, UserInputError
from bot.grammar.actions import MAX_OFFSET, decode_action, encode_action
from bot.grammar.commands import (
    Command,
    DigestOff,
    DigestOn,
    DigestStatus,
    Help,
    More,
    Search,
    Share,
    Show,
    Status,
    Subscribe,
    SubscribeSaved,
    Subscriptions,
    Today,
    Unsubscribe,
    parse_command,
    verb_of,
)
from bot.grammar.help import help_reply
from bot.grammar.query import MAX_QUERY_CHARS, parse_query
from bot.model.caller import Caller
from bot.model.papers import Paper
from bot.model.replies import Action, Reply
from bot.model.text import valid_fields, valid_text
from bot.observe import NULL_OBSERVER, Observer
from bot.search import ranking
from bot.search.cards import card_for
from bot.search.engine import search
from bot.search.remembered import Rankings
from bot.service import searching
from bot.service.limits import CommandBudget
from bot.service.scheduling import ScheduleCommands
from bot.service.status import status_reply
from bot.sources.backfill import BackfillProgress
from bot.store.contract import Database

log = logging.getLogger(__name__)

PAGE_SIZE = 5


class PaperLookup(Protocol):
    """Something that can fetch one paper by id (the Hugging Face source)."""

    async def paper(self, paper_id: str) -> Paper: ...


class PapersBot:
    """The core bot. Built once by the composition root with its store and clock."""

    def __init__(
        self,
        *,
        store: Database,
        clock: Callable[[], datetime],
        lookup: PaperLookup | None = None,
        budget: CommandBudget | None = None,
        default_tz: str = "UTC",
        on_schedule_change: Callable[[], None] | None = None,
        observer: Observer = NULL_OBSERVER,
        backfill: BackfillProgress | None = None,
    ) -> None:
        self._store = store
        self._observer = observer
        self._backfill = backfill
        self._clock = clock
        self._lookup = lookup
        self._budget = budget or CommandBudget()
        self._rankings = Rankings()  # repeated searches and their More pages rank once
        self._scheduling = ScheduleCommands(
            store, clock, default_tz=default_tz, on_change=on_schedule_change
        )

    async def respond(self, text: str, caller: Caller | None = None) -> Reply:
        """Answer what a user typed after ``/papers``."""
        return await self._guarded(lambda: parse_command(valid_text(text)), caller or Caller())

    async def press(self, value: str, caller: Caller | None = None) -> Reply:
        """Answer a button press carrying *value* (see :mod:`bot.grammar.actions`)."""
        return await self._guarded(lambda: decode_action(valid_text(value)), caller or Caller())

    async def run_command(self, command: Command, caller: Caller | None = None) -> Reply:
        """Answer an already-built command (Discord's typed options, the CLI)."""
        return await self._guarded(lambda: valid_fields(command), caller or Caller())

    async def _guarded(self, parse: Callable[[], Command], caller: Caller) -> Reply:
        """Answer, and tell the observer which verb it was, how it ended and how long it
        took (the verb is ``unknown`` when the text did not parse or was not read)."""
        started = time.perf_counter()
        verb = "unknown"

        def parsed() -> Command:
            nonlocal verb
            command = parse()
            verb = verb_of(command)
            return command

        reply, outcome = await self._answer(parsed, caller)
        self._observer.command(caller.platform, verb, outcome, time.perf_counter() - started)
        return reply

    async def _answer(self, parse: Callable[[], Command], caller: Caller) -> tuple[Reply, str]:
        if caller.user_id:
            wait = self._budget.take(f"{caller.platform}:{caller.user_id}")
            if wait:
                text = f"You are sending commands too fast; try again in {math.ceil(wait)} s."
                return Reply(text=text, is_error=True), "throttled"
        try:
            reply = await self.execute(parse(), caller)
            return await self._with_notices(reply, caller), "ok"
        except UserInputError as exc:
            return Reply(text=str(exc), is_error=True), "user_error"
        except NotFound as exc:
            return Reply(text=str(exc), is_error=True), "not_found"
        except SourceError as exc:
            log.warning("source failed while answering: %s", exc)
            text = f"A paper source is not answering ({exc.source}); try again in a few minutes."
            return Reply(text=text, is_error=True), "source_error"
        except PapersbotError as exc:
            error_id = secrets.token_hex(4)
            log.error("error %s: %s", error_id, exc)
            return Reply(text=f"Sorry, that failed (error {error_id}).", is_error=True), "error"
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("unexpected error %s", error_id)
            text = f"Sorry, something went wrong (error {error_id})."
            return Reply(text=text, is_error=True), "error"

    async def _with_notices(self, reply: Reply, caller: Caller) -> Reply:
        """Tell a user, once, about their deliveries stopped by a permanent failure."""
        if not caller.user_id:
            return reply
        told = await self._store.targets.untold(caller.platform, caller.user_id)
        if not told:
            return reply
        notes = [
            (
                f"Heads-up: your DMs from me failed ({t.disabled_reason}), so your "
                "subscriptions are paused. Fix that, then run any `subscribe` command "
                "(even one you have) to resume."
            )
            if t.kind == "user"
            else (
                f"Heads-up: I stopped the digest for channel {t.address} "
                f"({t.disabled_reason}). Run `digest on` there to resume."
            )
            for t in told
        ]
        return replace(reply, notes=(*notes, *reply.notes))

    async def execute(self, command: Command, caller: Caller | None = None) -> Reply:
        """Run one command; user errors propagate as :class:`UserInputError`."""
        caller = caller or Caller()
        match command:
            case SubscribeSaved(token):
                saved = await self._store.pages.load(token, now=self._clock())
                if saved is None:
                    raise UserInputError("That search has expired; run it again.")
                return await self._scheduling.run(Subscribe(saved), caller)
            case (
                Subscribe()
                | Subscriptions()
                | Unsubscribe()
                | DigestOn()
                | DigestOff()
                | DigestStatus()
            ):
                return await self._scheduling.run(command, caller)
            case Help(topic):
                return help_reply(topic)
            case Today(count):
                return await self.today(count)
            case Search(query, offset):
                return await self.search(query, offset)
            case More(token, offset):
                saved = await self._store.pages.load(token, now=self._clock())
                if saved is None:
                    raise UserInputError("That search has expired; run it again.")
                return await self.search(saved, offset)
            case Show(paper_id):
                return await self.show(paper_id)
            case Share(paper_id):
                return await self.share(paper_id, caller)
            case Status():
                return await status_reply(
                    self._store, now=self._clock(), caller=caller, backfill=self._backfill
                )
            case _:
                assert_never(command)

    async def today(self, count: int) -> Reply:
        """Top *count* papers of the latest Daily Papers day, by trending score."""
        day = await self._store.papers.latest_day()
        if day is None:
            return Reply(
                text="No papers yet: the store is empty. An operator can run "
                "`papersbot ingest` (or try `papersbot demo`)."
            )
        now = self._clock()
        ranked = ranking.rank(await self._store.papers.for_day(day), now)[:count]
        cards = tuple(card_for(sp, trend) for sp, trend in ranked)
        noun = "paper" if len(cards) == 1 else "papers"
        return Reply(text=f"Top {len(cards)} {noun} · Daily Papers {day.isoformat()}", cards=cards)

    async def search(self, text: str, offset: int = 0) -> Reply:
        """One page of search results, with a "More" button when there are more."""
        now = self._clock()
        query = parse_query(text, now=now)
        async with self._store.readers.reading() as view:  # a burst reads side by side
            page = await search(
                view, query, now=now, offset=offset, limit=PAGE_SIZE, rankings=self._rankings
            )
            if not page.hits:
                return await searching.nothing_found(view, query, text, offset, cut=page.cut)
        cards = searching.cards(page, now)
        matched = searching.match_note(page)
        first, last = offset + 1, offset + len(cards)
        total = f"{page.total}+" if page.more_unknown else str(page.total)
        notes: tuple[str, ...] = (matched,) if matched else ()
        if page.cut:
            notes = (*notes, searching.CUT_NOTE)
        actions: tuple[Action, ...] = ()
        try:
            token = await self._store.pages.save(text, now=now, patient=False)
        except StoreError as exc:  # another process is writing: answer without buttons
            log.warning("search answered without buttons: %s", exc)
            if page.has_more:
                notes = (*notes, "The store is busy; run the search again for the buttons.")
        else:
            if page.has_more and last <= MAX_OFFSET:
                actions = (Action("more", "More", encode_action("more", token, last)),)
            if len(text) <= MAX_QUERY_CHARS and query.since is None and query.has_text:
                subscribe = Action("subscribe", "Subscribe", encode_action("subscribe", token))
                actions = (*actions, subscribe)
        return Reply(
            text=f"Results {first}–{last} of {total} for “{text}”",
            cards=cards,
            notes=notes,
            actions=actions,
            start=first,
        )

    async def show(self, paper_id: str) -> Reply:
        """One paper in full: abstract, authors, links and why it ranks."""
        stored = await self._store.papers.get(paper_id)
        if stored is None and self._lookup is not None:
            paper = await self._lookup.paper(paper_id)
            await self._store.papers.upsert([paper], seen_at=self._clock())
            stored = await self._store.papers.get(paper_id)
        if stored is None:
            raise NotFound(f"Paper {paper_id} is not in the store yet.")
        card = card_for(stored, ranking.trend(stored, self._clock()), full=True)
        return Reply(text=stored.paper.title, cards=(card,))

    async def share(self, paper_id: str, caller: Caller) -> Reply:
        """A public post of one paper's card, attributed to whoever shared it."""
        stored = await self._store.papers.get(paper_id)
        if stored is None:
            raise NotFound(f"Paper {paper_id} is not in the store any more.")
        card = card_for(stored, ranking.trend(stored, self._clock()))
        return Reply(
            text=f"Shared by {caller.user_name}",
            cards=(replace(card, actions=()),),
            ephemeral=False,
        )
