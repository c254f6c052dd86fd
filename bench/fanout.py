"""Discord DM fan-out under Discord's global rate limit: one DM to each of N distinct users.

    .venv/bin/python bench/fanout.py [--users 10000] [--concurrency 32] [--no-write]

The fake Discord (``tests/fakes/discord.py``) enforces Discord's global limit of 50 requests
per second per bot token over a sliding one-second window, answering anything beyond it with
a global 429 (``retry_after``, ``global: true``, ``Via``), as Discord does. The real
discord.py 2.7 client and :class:`~adapters.discord.DiscordCourier`, with its default pacing,
send every user the same real DM: the top papers (at most three) of the bundled snapshot's
last day whose title says "model", shaped like the dispatcher's subscription DM. The
courier is driven the way the dispatcher drives it (it is not used here): one task per
user, at most ``--concurrency`` sends at a time, each ``send(target, reply, key)`` with a
key of its own.

A first DM needs two requests (``POST /users/@me/channels``, then the message), so the floor
is ``requests / 50`` seconds: 400 s for 10,000 users. Reported: requests, elapsed time, the
floor and the ratio to it (target: within 10 %), the 429s the fake sent, sends that did not
come back ``SENT``, users left without the DM (lost) and users who got it twice (duplicated).
Prints a Markdown report and writes it to ``bench/fanout_results.md``; a run with ``--users``
other than 10,000 only prints.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))  # tests.fakes is not an installed package

from adapters.discord import DiscordCourier  # noqa: E402  (first: no audioop warning)
from adapters.discord.render import render_reply  # noqa: E402
from bot.app import bundled_snapshot  # noqa: E402
from bot.delivery.courier import SendStatus  # noqa: E402
from bot.model.delivery import DeliveryKey, Target  # noqa: E402
from bot.model.papers import StoredPaper  # noqa: E402
from bot.model.replies import Reply  # noqa: E402
from bot.search import ranking  # noqa: E402
from bot.search.cards import card_for  # noqa: E402
from bot.service.papersbot import PapersBot  # noqa: E402
from bot.sources.snapshot import SnapshotSource  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.discord import FakeDiscord, connected  # noqa: E402

RESULTS = ROOT / "bench" / "fanout_results.md"
DISCORD_PER_SECOND = 50
FULL_RUN = 10_000
TARGET_RATIO = 1.10
FIRST_USER = 1300000000000000000
NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)  # the bundled snapshot's last day

log = logging.getLogger("bench")

NOTES = [
    "The pacer lets at most 50 requests leave in any one second (48/s, holding 2). A 429 can "
    "still happen when the event loop delays a request on its way to the fake, so that 51 "
    "arrive within one second; discord.py then sleeps `retry_after` (a global 429 holds every "
    "request) and sends again, so none surfaces. The gap to the floor is the 4 % of headroom "
    "(48 of 50) plus those sleeps.",
    "",
    "Every DM here is a user's first, so it costs two requests. The courier caches DM channel "
    "ids (discord.py keeps only its last 128 DM channels), so in a running process a user's "
    "next DM costs one: the same 10,000 users again would need about 210 s.",
    "",
]


def dm_reply(query: str = "model", count: int = 3) -> Reply:
    """A subscription DM as the dispatcher sends one: real cards, "show" buttons only."""
    *_, (day, papers) = SnapshotSource(bundled_snapshot()).days()
    stored = [StoredPaper(p, first_seen=NOW) for p in papers if query in p.title.lower()]
    cards = []
    for sp, trend in ranking.rank(stored, NOW)[:count]:
        card = card_for(sp, trend)
        cards.append(replace(card, actions=tuple(a for a in card.actions if a.kind == "show")))
    return Reply(
        text=f"{len(cards)} new papers for “{query}” ({day})",
        cards=tuple(cards),
        notes=("Subscription #1 · stop with `unsubscribe 1`",),
        ephemeral=False,
    )


@dataclass
class FanOut:
    """What one fan-out did, as the fake saw it and as the courier answered."""

    users: int
    elapsed: float  # seconds from the first send to the last answer
    requests: Counter[int] = field(default_factory=Counter)  # fake's answers by status
    global_429: int = 0  # the fake's global-limit refusals
    failures: Counter[str] = field(default_factory=Counter)  # non-SENT results by detail
    lost: int = 0  # users with no DM
    duplicated: int = 0  # users with more than one
    per_second: float = 0.0  # the courier's pace
    burst: int = 0
    shape: str = ""  # what the DM looks like once rendered

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def needed(self) -> int:
        """Requests that did work (everything but the 429s)."""
        return self.total - self.requests[429]

    @property
    def floor(self) -> float:
        """Seconds the needed requests take at exactly Discord's 50 per second."""
        return self.needed / DISCORD_PER_SECOND

    @property
    def ratio(self) -> float:
        return self.elapsed / self.floor if self.floor else 0.0


async def fan_out(users: int, *, concurrency: int = 32, reply: Reply | None = None) -> FanOut:
    """DM *users* distinct users once each through a :class:`DiscordCourier` on a fake
    Discord that enforces the global limit; count what arrived."""
    reply = reply or dm_reply()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "store.db")
        try:
            bot = PapersBot(store=store, clock=lambda: NOW)
            async with connected(bot) as (fake, client):
                return await _run(fake, DiscordCourier(client), users, concurrency, reply)
        finally:
            await store.close()


async def _run(
    fake: FakeDiscord, courier: DiscordCourier, users: int, concurrency: int, reply: Reply
) -> FanOut:
    ids = [FIRST_USER + i for i in range(users)]
    gate = asyncio.Semaphore(concurrency)
    failures: Counter[str] = Counter()

    async def one(user_id: int) -> None:
        target = Target(user_id, "discord", "bench", "user", str(user_id))
        async with gate:
            result = await courier.send(target, reply, DeliveryKey.dm(user_id, NOW.date()))
        if result.status is not SendStatus.SENT:
            failures[f"{result.status}: {result.detail}"] += 1

    before = len(fake.requests)
    limit = fake.limit_requests(DISCORD_PER_SECOND)
    started = time.perf_counter()
    await asyncio.gather(*(one(user_id) for user_id in ids))
    elapsed = time.perf_counter() - started
    fake.limit = None
    counts = Counter(len(fake.messages.get(int(fake.dm_channel(u)["id"]), [])) for u in ids)
    return FanOut(
        users=users,
        elapsed=elapsed,
        requests=Counter(status for *_, status in fake.requests[before:]),
        global_429=limit.refused,
        failures=failures,
        lost=counts[0],
        duplicated=sum(n for k, n in counts.items() if k > 1),
        per_second=courier.deliverer.pacer.per_second,
        burst=courier.deliverer.pacer.burst,
        shape=shape(reply),
    )


def shape(reply: Reply) -> str:
    """``1 message: 3 embeds, 3 buttons`` for *reply* as the Discord adapter renders it."""
    messages = render_reply(reply)
    embeds = sum(len(m.embeds) for m in messages)
    buttons = sum(len(m.buttons) for m in messages)
    noun = "message" if len(messages) == 1 else "messages"
    return f"{len(messages)} {noun}: {embeds} embeds, {buttons} buttons"


def render(result: FanOut, concurrency: int, load: tuple[float, float, float]) -> str:
    import search as search_bench  # bench/search.py, for its machine table (bench/ on the path)

    machine = search_bench.machine()
    mark = "✓" if result.ratio <= TARGET_RATIO else "✗"
    statuses = ", ".join(f"{n:,} × {status}" for status, n in sorted(result.requests.items()))
    failed = "; ".join(f"{n} × {detail}" for detail, n in result.failures.items()) or "0"
    rows = [
        ("users (one DM each, all distinct)", f"{result.users:,}", ""),
        ("requests received by the fake", f"{result.total:,} ({statuses})", ""),
        ("elapsed", f"{result.elapsed:.1f} s", ""),
        (
            "floor: needed requests / 50 per s",
            f"{result.floor:.1f} s ({result.needed:,} requests)",
            "",
        ),
        ("elapsed / floor", f"{result.ratio:.3f} {mark}", f"≤ {TARGET_RATIO:.2f}"),
        ("achieved rate", f"{result.needed / result.elapsed:.1f} requests/s", "< 50"),
        ("429s sent by the fake (global limit)", f"{result.global_429:,}", ""),
        ("failures surfaced (sends not `SENT`)", failed, "0"),
        ("lost (users without the DM)", f"{result.lost:,}", "0"),
        ("duplicated (users with it twice or more)", f"{result.duplicated:,}", "0"),
    ]
    lines = [
        "# Discord DM fan-out",
        "",
        f"`.venv/bin/python bench/fanout.py`, {date.today().isoformat()}. {result.users:,} DMs "
        "to as many distinct users through `DiscordCourier` (real discord.py 2.7 client, "
        f"default pacing: {result.per_second:g} requests/s with a burst of {result.burst}, "
        "5 messages per 5 s per channel), "
        f"{concurrency} sends at a time, against the fake Discord enforcing the "
        "global limit of 50 requests/s per bot token (sliding one-second window, global 429 "
        "beyond it). Every DM is a first one: `POST /users/@me/channels`, then the DM "
        f"({result.shape}). One process, 127.0.0.1.",
        "",
        "| " + " | ".join(machine) + " |",
        "|" + "---|" * len(machine),
        "| " + " | ".join(machine.values()) + " |",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        *(f"| {label} | {value} | {target} |" for label, value, target in rows),
        "",
        f"Load average (1/5/15 min) when the run started: {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} on {machine['cores']} cores.",
        "",
        *NOTES,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=FULL_RUN, help="distinct users to DM")
    parser.add_argument("--concurrency", type=int, default=32, help="sends in flight at most")
    parser.add_argument("--no-write", action="store_true", help=f"only print, keep {RESULTS.name}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    load = os.getloadavg()
    floor = 2 * args.users / DISCORD_PER_SECOND
    log.info("DMing %d users; the floor is %.0f s ...", args.users, floor)
    result = asyncio.run(fan_out(args.users, concurrency=args.concurrency))
    text = render(result, args.concurrency, load)
    print(text)
    if not args.no_write and args.users == FULL_RUN:
        RESULTS.write_text(text)
        log.info("written to %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
