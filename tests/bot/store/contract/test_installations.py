"""Installations and OAuth states on both stores: opaque sealed rows, the latest per key,
org-wide installs, and states usable once, even when consumed concurrently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import Database
from bot.store.records import InstallKey

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)


async def test_the_latest_row_per_key_and_per_team(database: Database) -> None:
    rows = database.installations
    alice = InstallKey("slack", "installation", "", "TA", "UALICE")
    bob = InstallKey("slack", "installation", "", "TA", "UBOB")
    await rows.save(alice, T0, b"alice-1")
    await rows.save(bob, T0 + timedelta(minutes=1), b"bob-1")
    await rows.save(alice, T0 + timedelta(minutes=2), b"alice-2")  # replaces, no history
    found = await rows.latest(alice)
    assert found is not None
    assert (found.key, found.installed_at, found.payload) == (
        alice,
        T0 + timedelta(minutes=2),
        b"alice-2",
    )
    team = await rows.latest(InstallKey("slack", "installation", "", "TA"), any_user=True)
    assert team is not None
    assert team.payload == b"alice-2"
    assert [row.payload for row in await rows.rows("slack")] == [b"alice-2", b"bob-1"]
    assert await rows.latest(InstallKey("slack", "installation", "", "TB"), any_user=True) is None
    assert await rows.delete(bob) == 1
    assert await rows.delete(InstallKey("slack", "installation", "", "TA"), any_user=True) == 1
    assert await rows.rows("slack") == []


async def test_bots_by_team_whatever_the_enterprise_and_org_wide_installs(
    database: Database,
) -> None:
    rows = database.installations
    await rows.save(InstallKey("slack", "bot", "E1", "TA"), T0, b"grid-team")
    await rows.save(InstallKey("slack", "bot", "E2", ""), T0, b"org-wide")
    found = await rows.for_team("slack", "bot", "TA")
    assert found is not None
    assert found.payload == b"grid-team"
    assert await rows.for_team("slack", "bot", "") is None  # an org-wide row has no team
    org = await rows.latest(InstallKey("slack", "bot", "E2", ""))
    assert org is not None
    assert org.payload == b"org-wide"
    assert await rows.workspaces("slack") == 2
    assert await rows.workspaces("discord") == 0


async def test_reseal_replaces_the_payload_and_every_byte_survives(database: Database) -> None:
    rows = database.installations
    key = InstallKey("discord", "bot", "", "G1")
    await rows.save(key, T0, bytes(range(256)))
    (row,) = await rows.rows("discord")
    assert row.payload == bytes(range(256))
    await rows.reseal(row.id, b"\x00sealed again\xff")
    again = await rows.latest(key)
    assert again is not None
    assert (again.id, again.payload) == (row.id, b"\x00sealed again\xff")


async def test_a_state_is_good_once_and_only_before_it_expires(database: Database) -> None:
    states = database.oauth_states
    await states.issue("s1", now=T0, expires_at=T0 + timedelta(minutes=10))
    await states.issue("s2", now=T0, expires_at=T0 + timedelta(minutes=10))
    assert await states.outstanding(T0) == 2
    assert await states.consume("s1", now=T0 + timedelta(minutes=1))
    assert not await states.consume("s1", now=T0 + timedelta(minutes=1))  # replayed
    assert not await states.consume("never-issued", now=T0)
    assert not await states.consume("s2", now=T0 + timedelta(minutes=11))  # expired
    await states.issue("s3", now=T0 + timedelta(hours=1), expires_at=T0 + timedelta(hours=2))
    assert await states.outstanding(T0 + timedelta(hours=1)) == 1


async def test_a_state_consumed_by_many_at_once_is_good_exactly_once(database: Database) -> None:
    states = database.oauth_states
    await states.issue("race", now=T0, expires_at=T0 + timedelta(minutes=10))
    results = await asyncio.gather(*(states.consume("race", now=T0) for _ in range(8)))
    assert results.count(True) == 1
