"""Build :class:`Card` values from stored papers: the one place that decides what a card says."""

from __future__ import annotations

import re

from bot.grammar.actions import encode_action
from bot.model.papers import StoredPaper
from bot.model.replies import Action, Card, Link
from bot.search.ranking import Trend

MAX_AUTHORS = 3
MAX_SUMMARY = 280
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def shorten(text: str, limit: int) -> str:
    """Cut *text* to at most *limit* characters at a word boundary, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def author_line(authors: tuple[str, ...]) -> str:
    """First authors, then "et al." (``A, B, C et al.``); "Unknown authors" when none."""
    if not authors:
        return "Unknown authors"
    if len(authors) <= MAX_AUTHORS:
        return ", ".join(authors)
    return ", ".join(authors[:MAX_AUTHORS]) + " et al."


def one_line_summary(ai_summary: str | None, abstract: str) -> str:
    """The AI summary, else the abstract's first sentence, cut to one line."""
    if ai_summary:
        return shorten(ai_summary, MAX_SUMMARY)
    first = _SENTENCE_END.split(abstract, maxsplit=1)[0] if abstract else ""
    return shorten(first, MAX_SUMMARY) if first else "No abstract available."


def card_for(stored: StoredPaper, trend: Trend, *, full: bool = False) -> Card:
    """The card for one paper; *full* adds the whole abstract (``show``)."""
    paper = stored.paper
    links = [Link("arXiv", paper.arxiv_url), Link("PDF", paper.pdf_url)]
    if paper.github_repo:
        links.append(Link("Code", paper.github_repo))
    if paper.project_page and paper.project_page != paper.github_repo:
        links.append(Link("Project page", paper.project_page))
    actions = [Action("share", "Share to channel", encode_action("share", paper.id))]
    if not full:
        actions.insert(0, Action("show", "Show", encode_action("show", paper.id)))
    return Card(
        paper_id=paper.id,
        title=paper.title,
        url=paper.hf_url,
        authors=author_line(paper.authors),
        summary=one_line_summary(paper.ai_summary, paper.abstract),
        why=trend.why,
        links=tuple(links),
        thumbnail=paper.thumbnail,
        organization=paper.organization,
        abstract=paper.abstract if full else None,
        actions=tuple(actions),
        all_authors=paper.authors if full else (),
    )
