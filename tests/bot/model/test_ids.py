"""Canonical paper ids: every way of naming a paper maps to one lower-case, version-less id."""

from __future__ import annotations

import pytest

from bot.errors import UserInputError
from bot.model.ids import canonical_id, require_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2608.17271", "2608.17271"),
        ("2608.17271v2", "2608.17271"),
        ("2608.17271V12", "2608.17271"),
        ("arXiv:2608.17271", "2608.17271"),
        ("ARXIV:2608.17271v3", "2608.17271"),
        ("https://arxiv.org/abs/2608.17271", "2608.17271"),
        ("http://arxiv.org/abs/1605.08386v1", "1605.08386"),
        ("https://export.arxiv.org/abs/2608.17271", "2608.17271"),
        ("https://www.arxiv.org/abs/2608.17271v2/", "2608.17271"),
        ("https://arxiv.org/pdf/2608.17271", "2608.17271"),
        ("https://arxiv.org/pdf/2608.17271v1", "2608.17271"),
        ("https://arxiv.org/pdf/2608.17271v1.pdf", "2608.17271"),
        ("https://arxiv.org/html/2608.17271v2", "2608.17271"),
        ("https://huggingface.co/papers/2608.17271", "2608.17271"),
        ("https://hf.co/papers/2608.17271", "2608.17271"),
        ("https://huggingface.co/papers/2608.17271?utm=x#community", "2608.17271"),
        ("<https://arxiv.org/abs/2608.17271>", "2608.17271"),  # as Slack wraps links
        ("  2608.17271v2\n", "2608.17271"),
        ("0704.0001", "0704.0001"),  # first new-style id, four-digit era
        ("1412.8012v1", "1412.8012"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v1", "hep-th/9901001"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136v2", "math.gt/0309136"),
        ("arXiv:cond-mat/0011267", "cond-mat/0011267"),
    ],
)
def test_canonical_id_normalises(text: str, expected: str) -> None:
    assert canonical_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "sparse autoencoders",
        "2608",
        "2608.172",  # too few digits
        "2608.172711",  # too many digits
        "2608.17271v",  # version without a number
        "2608.17271 2608.17272",
        "hep-th/990100",  # old style needs seven digits
        "9901001",
        "https://example.com/abs/2608.17271",
        "https://huggingface.co/models/2608.17271",
        "abs/2608.17271",
        "2608.17271.pdf.exe",
    ],
)
def test_canonical_id_rejects_what_names_no_paper(text: str) -> None:
    assert canonical_id(text) is None


def test_same_paper_every_spelling_one_id() -> None:
    spellings = [
        "2608.17271",
        "2608.17271v2",
        "arXiv:2608.17271",
        "https://arxiv.org/abs/2608.17271v1",
        "https://arxiv.org/pdf/2608.17271v2.pdf",
        "https://huggingface.co/papers/2608.17271",
    ]
    assert {canonical_id(s) for s in spellings} == {"2608.17271"}


@pytest.mark.parametrize("text", ["２６０８.１７２７１", "٢٦٠٨.١٧٢٧١"])
def test_non_ascii_digits_are_not_an_id_as_typed(text: str) -> None:
    assert canonical_id(text) in (None, "2608.17271")


def test_require_id_returns_the_canonical_id() -> None:
    assert require_id("https://arxiv.org/abs/2608.17271v3") == "2608.17271"


@pytest.mark.parametrize("text", ["not a paper", "https://example.com/x", ""])
def test_require_id_explains_with_an_example(text: str) -> None:
    with pytest.raises(UserInputError) as info:
        require_id(text)
    message = str(info.value)
    assert "\n" not in message
    assert "is not an arXiv id" in message
    assert "show 2608.17271" in message  # an example of what works
    assert (text.strip() or "(nothing)") in message


def test_require_id_cuts_long_input_in_its_message() -> None:
    with pytest.raises(UserInputError) as info:
        require_id("x" * 500)
    assert "x" * 59 + "…" in str(info.value)
    assert "x" * 60 not in str(info.value)
    assert len(str(info.value)) < 200
