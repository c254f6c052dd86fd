"""``/papers help``: usage with examples, listing only what works in this build."""

from __future__ import annotations

from bot.errors import shown
from bot.model.replies import Reply

USAGE = (
    "`/papers today [N]`: top N papers (1-10) of the latest Hugging Face Daily Papers day",
    "`/papers search <query>`: ranked matches, 5 per page, with More",
    "`/papers show <arXiv id or URL>`: one paper in full",
    "`/papers status`: sources, freshness, your next scheduled posts and recent failures",
    "`/papers subscribe <query> [at 8am] [tz Europe/Berlin] [daily|weekdays|weekly fri]`: "
    "a DM with new matching papers",
    "`/papers subscriptions` and `/papers unsubscribe <number|all>`",
    "`/papers digest on|off|status`: this channel's daily top papers (channel managers)",
    "`/papers help digest`: the digest options; `/papers help search`: the query syntax",
)

DIGEST_HELP = (
    "`at 09:00` (or `9am`) and `tz Europe/Berlin`: when, in which IANA zone "
    "(default: your Slack zone, else the bot's)",
    "`weekdays` (default), `daily`, or `weekly fri`",
    "`top 5`: how many papers (1-10); `min-upvotes 10`: skip less-upvoted papers",
    "`empty-days note` (default) or `empty-days silent`: what a day with nothing new says",
    "`filter <query>` (last): only papers matching a search query, e.g. `filter diffusion -video`",
    "On Discord the same options are typed fields of `/papers digest on`. "
    "Who: Discord members with Manage Channels; Slack workspace admins and owners, or the "
    "ids in SLACK_DIGEST_MANAGERS",
)

SEARCH_HELP = (
    "words: papers with every word come first (all side by side first of all), then, marked "
    "as such, papers missing one word (3 words or more), then any word; e.g. "
    "`sparse autoencoders`. Subscriptions and digest filters take only papers with every word",
    '`"exact phrase"`: words side by side, e.g. `"mixture of experts"`',
    '`-word` or `-"a phrase"`: must not match, e.g. `diffusion -video`',
    "`a OR b`: either one, e.g. `llm OR transformer`",
    '`author:name`: by an author, e.g. `author:"Neel Nanda"`',
    "`since:2026-01-31` or `since:7d`/`2w`/`3m`: recent papers only",
    "`sort:relevance` (default), `sort:trending` or `sort:new`",
)


def help_reply(topic: str | None) -> Reply:
    """General usage, or the query syntax when *topic* is ``search``/``query``."""
    if topic in ("search", "query", "syntax"):
        return Reply(text="Search syntax", notes=SEARCH_HELP)
    if topic in ("digest", "subscribe", "schedule"):
        return Reply(text="Digest and subscription options", notes=DIGEST_HELP)
    if topic is not None and topic not in ("today", "show", "status"):
        return Reply(text=f"No help on `{shown(topic, 30)}`; here is everything.", notes=USAGE)
    return Reply(text="papersbot: trending research papers, in chat", notes=USAGE)
