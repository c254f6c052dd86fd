"""Installations and OAuth states in the store: opaque sealed rows keyed by workspace, states
usable once, and an uninstall that stops exactly its workspace's targets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.records import InstallKey

T0 = datetime(2026, 8, 19, 8, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "installs.db")
    yield store
    await store.close()


async def test_the_latest_row_per_key_and_per_team(db: Store) -> None:
    rows = db.installations
    alice = InstallKey("slack", "installation", "", "TA", "UALICE")
    bob = InstallKey("slack", "installation", "", "TA", "UBOB")
    await rows.save(alice, T0, b"alice-1")
    await rows.save(bob, T0 + timedelta(minutes=1), b"bob-1")
    await rows.save(alice, T0 + timedelta(minutes=2), b"alice-2")  # replaces, no history
    found = await rows.latest(alice)
    assert found is not None
    assert found.payload == b"alice-2"
    team = await rows.latest(InstallKey("slack", "installation", "", "TA"), any_user=True)
    assert team is not None
    assert team.payload == b"alice-2"
    assert len(await rows.rows("slack")) == 2
    assert await rows.latest(InstallKey("slack", "installation", "", "TB"), any_user=True) is None
    assert await rows.delete(InstallKey("slack", "installation", "", "TA"), any_user=True) == 2
    assert await rows.rows("slack") == []


async def test_bots_by_team_whatever_the_enterprise_and_org_wide_installs(db: Store) -> None:
    rows = db.installations
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


async def test_a_state_is_good_once_and_only_before_it_expires(db: Store) -> None:
    states = db.oauth_states
    await states.issue("s1", now=T0, expires_at=T0 + timedelta(minutes=10))
    await states.issue("s2", now=T0, expires_at=T0 + timedelta(minutes=10))
    assert await states.outstanding(T0) == 2
    assert await states.consume("s1", now=T0 + timedelta(minutes=1))
    assert not await states.consume("s1", now=T0 + timedelta(minutes=1))  # replayed
    assert not await states.consume("never-issued", now=T0)
    assert not await states.consume("s2", now=T0 + timedelta(minutes=11))  # expired
    await states.issue("s3", now=T0 + timedelta(hours=1), expires_at=T0 + timedelta(hours=2))
    assert await states.outstanding(T0 + timedelta(hours=1)) == 1


async def test_suspending_a_workspace_stops_its_targets_and_a_reinstall_resumes_only_those(
    db: Store,
) -> None:
    targets = db.targets
    a_channel = await targets.ensure("slack", "TA", "channel", "CA")
    a_dm = await targets.ensure("slack", "TA", "user", "UA")
    a_blocked = await targets.ensure("slack", "TA", "user", "UBLOCKED")
    b_channel = await targets.ensure("slack", "TB", "channel", "CB")
    discord = await targets.ensure("discord", "TA", "channel", "CA")
    await targets.disable(a_blocked.id, now=T0, reason="blocked DMs")
    assert await targets.suspend_workspace("slack", ["TA"], now=T0, reason="uninstalled") == 2
    assert await targets.disabled() == {a_channel.id, a_dm.id, a_blocked.id}
    stopped = await targets.by_id(a_channel.id)
    assert stopped is not None
    assert stopped.disabled_reason == "uninstalled"
    assert await targets.untold("slack", "UA") == []  # nobody there to tell
    assert await targets.resume_workspace("slack", ["TA"]) == 2
    assert await targets.disabled() == {a_blocked.id}  # its own failure is still its own
    assert b_channel.id not in await targets.disabled()
    assert discord.id not in await targets.disabled()
