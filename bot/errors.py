"""The project's exceptions, one tree so adapters can catch the root at the edge.

PapersbotError                 anything the bot can explain to a user or operator
├── ConfigError                a setting is missing or invalid (names the key)
├── UserInputError             a command or query a user typed cannot run (has a hint)
│   └── QueryError             the search query syntax is wrong
├── NotFound                   a paper or other object does not exist
├── SourceError                a paper source failed (names the source and the URL)
│   ├── SourceUnavailable      it stayed down or timed out after retries
│   └── SourceResponseError    it answered with something we cannot use
└── StoreError                 the database could not do what was asked
"""

from __future__ import annotations


def shown(text: str, limit: int = 40) -> str:
    """User text made safe to echo inside a one-line message's code span: whitespace
    squashed, backticks removed, cut to *limit* characters."""
    flat = " ".join(text.replace("`", "'").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class PapersbotError(Exception):
    """Root of every error the bot raises on purpose."""


class ConfigError(PapersbotError):
    """A setting is missing or invalid."""


class UserInputError(PapersbotError):
    """User input that cannot run; ``str(err)`` is a one-line explanation with an example."""


class QueryError(UserInputError):
    """A search query that cannot be parsed."""


class NotFound(PapersbotError):
    """The requested object does not exist."""


class SourceError(PapersbotError):
    """A paper source failed."""

    def __init__(self, source: str, url: str, detail: str) -> None:
        self.source = source
        self.url = url
        self.detail = detail
        super().__init__(f"{source}: {detail} ({url})")


class SourceUnavailable(SourceError):
    """The source stayed down, timed out or kept rate-limiting after every retry."""


class SourceResponseError(SourceError):
    """The source answered, but with an error document or a body we cannot parse."""


class StoreError(PapersbotError):
    """The store could not complete an operation."""
