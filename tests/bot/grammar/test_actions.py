import pytest

from bot.errors import UserInputError
from bot.grammar.actions import STALE, decode_action, encode_action
from bot.grammar.commands import More, Share, Show


def test_round_trip() -> None:
    assert decode_action(encode_action("show", "2608.17271")) == Show("2608.17271")
    assert decode_action(encode_action("share", "hep-th/9901001")) == Share("hep-th/9901001")
    assert decode_action(encode_action("more", "0123456789abcdef", 5)) == More(
        "0123456789abcdef", 5
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "show:",
        "show:<!channel>",
        "share:" + "1" * 200,
        "more:0123456789abcdef",
        "more:0123456789abcdef:-1",
        "more:0123456789abcdef:99999",
        "more:XYZ:5",
        "delete:everything",
        "more:0123456789abcdef:5:extra",
        "more:0123456789abcdef:²",
    ],
)
def test_forged_or_stale_values_get_a_polite_error(value: str) -> None:
    with pytest.raises(UserInputError, match="expired or is not valid"):
        decode_action(value)
    assert "run the command again" in STALE


def test_values_fit_a_discord_custom_id() -> None:
    with pytest.raises(ValueError, match="too long"):
        encode_action("show", "x" * 100)
