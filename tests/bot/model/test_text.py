"""Text helpers: what people read, and text made valid where it enters."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from bot.model.text import valid_fields, valid_text


def test_valid_text_replaces_lone_surrogates_and_drops_controls() -> None:
    assert valid_text("plain text") == "plain text"
    assert valid_text("a\ud800b") == "a\ufffdb"
    assert valid_text("nul\x00 bell\x07 esc\x1b del\x7f") == "nul bell esc del"
    assert valid_text("tab\tnew\nline\r") == "tab\tnew\nline\r"
    assert (
        valid_text("émoji 🧪 RTL \u202e zero\u200bwidth") == "émoji 🧪 RTL \u202e zero\u200bwidth"
    )


@given(st.text())
def test_valid_text_always_encodes_as_utf8(text: str) -> None:
    cleaned = valid_text(text)
    cleaned.encode("utf-8")  # never raises
    assert valid_text(cleaned) == cleaned


@dataclass(frozen=True, slots=True)
class Inner:
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outer:
    query: str
    count: int
    inner: Inner


def test_valid_fields_reaches_nested_strings() -> None:
    value = Outer("x\ud800", 3, Inner(("ok", "y\x00")))
    assert valid_fields(value) == Outer("x\ufffd", 3, Inner(("ok", "y")))
    clean = Outer("x", 3, Inner(("ok",)))
    assert valid_fields(clean) is clean
