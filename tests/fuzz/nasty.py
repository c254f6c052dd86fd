"""Curated nasty strings: the inputs every surface of papersbot is fuzzed with, beside
hypothesis' own. Each names what it attacks."""

from __future__ import annotations

NASTY: tuple[str, ...] = (
    "",
    " ",
    "x" * 10_000,  # length
    "word " * 2_000,
    "\x00",  # NUL and control characters
    "a\x00b\x07c\x1b[31md\x7f",
    "\ud800",  # a lone surrogate (JSON can carry one)
    "ok \udfff ok",
    "\u202eevil\u202c",  # RTL override
    "zero\u200bwidth\u200d\ufeff",
    "🧪" * 500,  # emoji, astral plane
    "👩‍👩‍👧‍👦 ﷽ 𒐫",
    "Ω≈ç√∫ ÅÍÎÏ ǅ ﬁ",
    '"unclosed',  # the query language and FTS5 operators
    'title:"a" OR NOT NEAR(a b) AND *',
    "a OR OR b",
    "-a -b -c",
    "author: since: sort:",
    "since:99999y",
    "since:0000-00-00",
    "sort:drop",
    "a:b c:d e:f",
    "'; DROP TABLE papers; --",  # SQL
    "1' OR '1'='1",
    "%s %d {0} {} %n",  # format strings
    "<!channel> <!here> <!everyone>",  # Slack mention markup
    "<@U012AB3CD> <#C123|general> <!subteam^S1>",
    "<https://evil.example|click me>",
    "@everyone @here",  # Discord mention markup
    "<@123456789012345678> <@&987654321098765432> <#123>",
    "**bold** __u__ ||spoiler|| `code` ```block```",
    "[click](https://evil.example) ![img](x)",
    "*bold* _it_ ~strike~ > quote",
    "\\",
    "\r\n\r\n\t",
    "&amp; &lt; &gt; <>&",
    "<" * 3000,
    "javascript:alert(1)",
    "../../../../etc/passwd",
    "more:0000000000000000:5",
    "show:2608.17271",
    "subscribe:ffffffffffffffff",
)
