"""Hugging Face payloads mutated from the recorded data (deleted fields, wrong types, huge
strings, deep nesting) and broken bodies (truncated JSON, an HTML error page): every case is
a clean skip of that item, or a SourceError saying what came back; the good items of the
same batch are kept; never a traceback."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import SourceError
from bot.sources.hf import HuggingFaceSource
from bot.sources.hf_parse import parse_items
from tests.bot.sources.conftest import MakeFetcher
from tests.shared_data import SHARED_DATA

DAY = "2025-10-14"
RECORDED: list[dict[str, Any]] = json.loads((SHARED_DATA / "hf_daily" / f"{DAY}.json").read_text())
FIELDS = sorted({key for item in RECORDED for key in item.get("paper", {})})

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.just("x" * 100_000),
    st.just("\ud800"),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just([[[[[]]]]]),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[list[Any], int]:
    """The recorded day with one item broken; returns (items, index of the broken one)."""
    items = copy.deepcopy(RECORDED)
    index = draw(st.integers(min_value=0, max_value=len(items) - 1))
    paper = items[index]["paper"]
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True)):
        if draw(st.booleans()):
            paper.pop(field, None)
        else:
            paper[field] = draw(odd_values)
    return items, index


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_one_broken_item_never_costs_the_others(case: tuple[list[Any], int]) -> None:
    items, broken = case
    parsed = parse_items(items)
    ids = {p.id for p in parsed}
    for index, item in enumerate(items):
        if index != broken:
            assert item["paper"]["id"] in ids
    for paper in parsed:
        paper.title.encode("utf-8")  # storable text
        assert len(paper.abstract) <= 8_000


@settings(max_examples=100, deadline=None)
@given(st.one_of(odd_values, st.lists(odd_values, max_size=5)))
def test_a_payload_of_the_wrong_shape_yields_nothing_or_skips(payload: Any) -> None:
    items = payload if isinstance(payload, list) else [payload]
    assert parse_items(items) == []


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        ("application/json", json.dumps(RECORDED)[:5000], "body is not JSON"),
        ("text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>", "502 Bad Gateway"),
        ("application/json", '{"error": "Invalid date"}', "expected a list"),
        ("application/json", "[" * 100_000 + "]" * 100_000, "body is not JSON"),
        ("application/json", "", "body is not JSON"),
    ],
    ids=["truncated", "html", "error-object", "deep", "empty"],
)
async def test_a_broken_body_is_a_source_error_that_says_what_came_back(
    make_fetcher: MakeFetcher, content_type: str, body: str, says: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body, headers={"Content-Type": content_type})

    source = HuggingFaceSource(make_fetcher(handler), "https://hf.test", None)
    with pytest.raises(SourceError, match=says):
        await source.daily(date(2025, 10, 14))


def test_the_recorded_day_is_there() -> None:
    assert Path(SHARED_DATA / "hf_daily" / f"{DAY}.json").is_file()
    assert len(parse_items(RECORDED)) == len(RECORDED)
