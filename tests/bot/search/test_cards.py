from datetime import UTC, date, datetime

from bot.model.papers import Paper, StoredPaper
from bot.search.cards import author_line, card_for, one_line_summary, shorten
from bot.search.ranking import trend

NOW = datetime(2026, 8, 19, 12, tzinfo=UTC)


def _stored(**fields: object) -> StoredPaper:
    paper = Paper(id="2608.17271", title="ASI-Bench", daily_day=date(2026, 8, 19), **fields)  # type: ignore[arg-type]
    return StoredPaper(paper=paper, first_seen=NOW)


def test_shorten_cuts_at_a_word_boundary() -> None:
    text = "alpha beta gamma delta epsilon"
    assert shorten(text, 100) == text
    cut = shorten(text, 17)
    assert cut == "alpha beta…"
    assert len(cut) <= 17


def test_author_line() -> None:
    assert author_line(()) == "Unknown authors"
    assert author_line(("A", "B")) == "A, B"
    assert author_line(("A", "B", "C", "D")) == "A, B, C et al."


def test_summary_prefers_ai_summary_then_first_sentence() -> None:
    assert one_line_summary("AI says so.", "Abstract. More.") == "AI says so."
    assert one_line_summary(None, "We study X. Then Y.") == "We study X."
    assert one_line_summary(None, "") == "No abstract available."
    assert one_line_summary(None, "e.g. this stays. Next") == "e.g. this stays."


def test_card_links_and_actions() -> None:
    stored = _stored(
        github_repo="https://github.com/a/b",
        project_page="https://github.com/a/b",
        upvotes=38,
        comments=2,
        github_stars=10,
    )
    card = card_for(stored, trend(stored, NOW))
    assert card.url == "https://huggingface.co/papers/2608.17271"
    assert [link.label for link in card.links] == ["arXiv", "PDF", "Code"]
    assert card.links[1].url == "https://arxiv.org/pdf/2608.17271"
    assert card.why == "▲ 38 · 2 comments · ★ 10 · new today"
    assert [a.value for a in card.actions] == ["show:2608.17271", "share:2608.17271"]
    assert card.abstract is None


def test_full_card_has_abstract_and_no_show_button() -> None:
    stored = _stored(abstract="Long abstract.", project_page="https://asi.example/")
    card = card_for(stored, trend(stored, NOW), full=True)
    assert card.abstract == "Long abstract."
    assert [link.label for link in card.links][-1] == "Project page"
    assert [a.kind for a in card.actions] == ["share"]
