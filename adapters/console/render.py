"""Neutral replies as terminal text, with rich.

Paper text is put into ``rich.text.Text`` objects, never parsed as markup. Links are OSC 8
hyperlinks where the terminal shows them, and printed as plain URLs where it cannot: when
the output is not a terminal (a pipe, a file, a log) or runs inside tmux or GNU screen,
which swallow OSC 8 unless specially configured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from rich.console import Console
from rich.style import Style
from rich.text import Text

from bot import Card, Reply

_MULTIPLEXERS = ("screen", "tmux")


def hyperlinks_visible(console: Console, environ: Mapping[str, str] | None = None) -> bool:
    """Whether *console* can show OSC 8 hyperlinks: a real terminal, not a dumb one, and
    not inside tmux or screen."""
    env = os.environ if environ is None else environ
    if not console.is_terminal or console.is_dumb_terminal:
        return False
    if env.get("TMUX") or env.get("STY"):
        return False
    return not env.get("TERM", "").startswith(_MULTIPLEXERS)


def render_card(
    card: Card, index: int | None = None, *, hyperlinks: bool = True, full: bool = False
) -> Text:
    """One card as terminal text: title, authors, summary, why, links, id. *full* (``show``)
    names every author; without *hyperlinks* the links are printed as URLs."""
    text = Text()
    if index is not None:
        text.append(f"{index:>2}. ", style="bold cyan")
    text.append(card.title, style=Style(bold=True, link=card.url if hyperlinks else None))
    text.append("\n    ")
    authors = ", ".join(card.all_authors) if full and card.all_authors else card.authors
    text.append(authors, style="green")
    if card.organization:
        text.append(f" · {card.organization}", style="green")
    text.append("\n    ")
    text.append(card.summary)
    if card.abstract:
        text.append("\n\n    ")
        text.append(card.abstract, style="default")
        text.append("\n")
    text.append("\n    ")
    text.append(card.why, style="yellow")
    text.append("\n    ")
    if hyperlinks:
        _linked_labels(text, card)
    else:
        _plain_urls(text, card, full=full)
    text.append(f"   {card.paper_id}", style="dim")
    return text


def _linked_labels(text: Text, card: Card) -> None:
    for i, link in enumerate(card.links):
        if i:
            text.append(" · ", style="dim")
        text.append(link.label, style=Style(color="blue", underline=True, link=link.url))


def _plain_urls(text: Text, card: Card, *, full: bool) -> None:
    """Every link as ``label URL``: one per line in the full view, else on one line."""
    links = [("Page", card.url), *((link.label, link.url) for link in card.links)]
    separator = "\n    " if full else " · "
    for i, (label, url) in enumerate(links):
        if i:
            text.append(separator, style="dim")
        text.append(f"{label} ", style="dim")
        text.append(url, style="blue")


def render(reply: Reply, console: Console) -> None:
    """Print a whole reply. A list is numbered from the reply's ``start`` (6 on page 2);
    one paper in full (``show``) prints its title once, as the card's."""
    hyperlinks = hyperlinks_visible(console)
    style = "bold red" if reply.is_error else "bold magenta"
    single = len(reply.cards) == 1
    full = single and reply.cards[0].abstract is not None
    if not (single and reply.text == reply.cards[0].title):
        console.print(Text(reply.text, style=style))
    for note in reply.notes:
        console.print(Text("  • " + note))
    for i, card in enumerate(reply.cards, start=reply.start):
        console.print(render_card(card, None if single else i, hyperlinks=hyperlinks, full=full))
    for action in reply.actions:
        if action.kind == "more":
            console.print(Text("  Type `more` for the next page.", style="dim"))


def render_lines(reply: Reply, console: Console) -> None:
    """One line per result (``papersbot search``): arXiv id, title, why it ranks, and the
    paper's URL where the title cannot be a hyperlink."""
    hyperlinks = hyperlinks_visible(console)
    console.print(Text(reply.text, style="bold red" if reply.is_error else "bold"))
    for note in reply.notes:
        console.print(Text("  " + note))
    for card in reply.cards:
        line = Text()
        line.append(f"{card.paper_id:<12}", style="cyan")
        line.append(card.title, style=Style(bold=True, link=card.url if hyperlinks else None))
        line.append(f"  ({card.why})", style="dim")
        if not hyperlinks:
            line.append(f"  {card.url}", style="blue")
        console.print(line)
