"""The values of scheduled delivery (bot/model/delivery.py): delivery keys and their text
form, the key ranges the ledger scans, and what a delivery carries (Content) as JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model.delivery import CONTENT_KINDS, Content, DeliveryKey

WED = date(2026, 8, 19)

days = st.dates()
subscriptions = st.integers(min_value=0, max_value=2**63 - 1)
keys = st.builds(DeliveryKey, days, st.none() | subscriptions)


def test_the_two_kinds_of_key_and_their_text() -> None:
    digest = DeliveryKey.digest(WED)
    dm = DeliveryKey.dm(7, WED)
    assert (str(digest), digest.kind, digest.subscription) == ("digest:2026-08-19", "digest", None)
    assert (str(dm), dm.kind, dm.subscription) == ("sub:7:2026-08-19", "sub", 7)
    assert digest != dm
    assert DeliveryKey.parse("digest:2026-08-19") == digest
    assert DeliveryKey.parse("sub:7:2026-08-19") == dm


@given(keys)
def test_text_round_trips(key: DeliveryKey) -> None:
    assert DeliveryKey.parse(str(key)) == key
    assert str(DeliveryKey.parse(str(key))) == str(key)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "digest",
        "digest:2026-08-19:1",
        "DIGEST:2026-08-19",
        "sub:2026-08-19",
        "sub::2026-08-19",
        "sub:x:2026-08-19",
        "sub:-1:2026-08-19",
        "sub:1.5:2026-08-19",
        "sub:1:2026-08-19:x",
        "dm:1:2026-08-19",
        "2026-08-19",
        " digest:2026-08-19",
        "digest:",
        "digest:yesterday",
        "sub:1:",
        # Not the canonical text of any key: str(parse(text)) would differ from text.
        "digest:20260819",
        "sub:007:2026-08-19",
        "sub:\u0663:2026-08-19",  # a non-ASCII digit
        "digest:\uff12026-08-19",
    ],
)
def test_malformed_keys_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a delivery key"):
        DeliveryKey.parse(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("digest:2026-13-01", "month must be in 1..12"),
        ("digest:2026-02-30", "day is out of range"),
    ],
)
def test_keys_with_no_real_day_are_rejected(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        DeliveryKey.parse(text)


def test_a_fire_instant_keys_to_its_local_day() -> None:
    late_evening_in_new_york = datetime(2026, 8, 20, 2, 0, tzinfo=UTC)
    assert DeliveryKey.fired("America/New_York", late_evening_in_new_york) == (
        DeliveryKey.digest(WED)
    )
    assert DeliveryKey.fired("UTC", late_evening_in_new_york, 3) == (
        DeliveryKey.dm(3, date(2026, 8, 20))
    )
    assert DeliveryKey.fired("Asia/Tokyo", datetime(2026, 8, 18, 15, tzinfo=UTC)) == (
        DeliveryKey.digest(WED)  # already the 19th in Tokyo
    )


def test_text_ranges_are_ordered_and_disjoint() -> None:
    digest_low, digest_high = DeliveryKey.text_range("digest")
    sub_low, sub_high = DeliveryKey.text_range("sub")
    assert digest_low < digest_high <= sub_low < sub_high


@given(keys)
def test_every_key_falls_in_its_own_kind_s_range_only(key: DeliveryKey) -> None:
    text = str(key)
    low, high = DeliveryKey.text_range(key.kind)
    assert low <= text < high
    other = "sub" if key.kind == "digest" else "digest"
    other_low, other_high = DeliveryKey.text_range(other)
    assert not other_low <= text < other_high


# -- Content ----------------------------------------------------------------------------

contents = st.builds(
    Content,
    kind=st.sampled_from(CONTENT_KINDS),
    papers=st.lists(st.text(max_size=20), max_size=10).map(tuple),
    day=st.none() | days.map(date.isoformat),
    more=st.integers(min_value=0, max_value=10_000),
    detail=st.text(max_size=80),
)


@given(contents)
def test_content_round_trips_through_json(content: Content) -> None:
    assert Content.from_json(content.to_json()) == content


def test_content_json_has_every_field() -> None:
    content = Content("papers", ("2608.17271", "2608.00001"), day="2026-08-19", more=3)
    assert json.loads(content.to_json()) == {
        "kind": "papers",
        "papers": ["2608.17271", "2608.00001"],
        "day": "2026-08-19",
        "more": 3,
        "detail": "",
    }


def test_only_silent_content_stays_unspoken() -> None:
    assert [kind for kind in CONTENT_KINDS if not Content(kind).speaks] == ["silent"]


def test_missing_optional_fields_take_their_defaults() -> None:
    assert Content.from_json('{"kind": "empty"}') == Content("empty")
    assert Content.from_json('{"kind": "papers", "papers": null, "more": null}') == Content(
        "papers"
    )


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "[]",
        '"papers"',
        "{}",
        '{"kind": "lots"}',
        '{"kind": null}',
        '{"papers": ["2608.17271"]}',
    ],
)
def test_json_that_is_not_a_content_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a delivery content"):
        Content.from_json(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "Expecting value"),
        ("not json", "Expecting value"),
        ('{"kind": "papers", "more": "many"}', "invalid literal for int"),
    ],
)
def test_unreadable_content_is_rejected(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        Content.from_json(text)
