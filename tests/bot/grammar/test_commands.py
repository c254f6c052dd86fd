import pytest

from bot.errors import UserInputError
from bot.grammar.commands import Help, Search, Show, Status, Today, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("help", Help()),
        ("help search", Help("search")),
        ("/papers today", Today(5)),
        ("today 3", Today(3)),
        ("TODAY 10", Today(10)),
        ("search sparse autoencoders", Search("sparse autoencoders")),
        ("/papers search  a  b ", Search("a  b")),
        ("show 2608.17271v2", Show("2608.17271")),
        ("show https://huggingface.co/papers/2608.17271", Show("2608.17271")),
        ("status", Status()),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("today 0", "1 to 10"),
        ("today 11", "1 to 10"),
        ("today many", "1 to 10"),
        ("today ²", "1 to 10"),
        ("search", "search sparse autoencoders"),
        ("show", "show 2608.17271"),
        ("show not-an-id", "not an arXiv id"),
        ("tody", "Did you mean `today`?"),
        ("frobnicate", "Try `help`"),
        ("search " + "x" * 2000, "too long"),
    ],
)
def test_bad_input_explains(text: str, needle: str) -> None:
    with pytest.raises(UserInputError) as info:
        parse_command(text)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message
