"""Delivery targets on both stores: created once, disabled and told once, suspended with
their workspace and resumed with it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store import Database

T0 = datetime(2026, 8, 19, 7, 0, tzinfo=UTC)


async def test_targets_are_created_once_and_found(database: Database) -> None:
    targets = database.targets
    first = await targets.ensure("slack", "T1", "channel", "C1")
    again = await targets.ensure("slack", "T1", "channel", "C1")
    other = await targets.ensure("slack", "T1", "user", "C1")
    assert first == again
    assert other.id != first.id
    assert (first.platform, first.workspace, first.kind, first.address) == (
        "slack",
        "T1",
        "channel",
        "C1",
    )
    assert first.disabled_at is None
    assert await targets.find("slack", "T1", "channel", "C1") == first
    assert await targets.find("slack", "T2", "channel", "C1") is None
    assert await targets.by_id(other.id) == other
    assert await targets.by_id(other.id + 100) is None


async def test_a_disabled_target_is_told_to_its_owner_once(database: Database) -> None:
    targets = database.targets
    channel = await targets.ensure("slack", "T1", "channel", "C1")
    dms = await targets.ensure("slack", "T1", "user", "U2")
    await targets.enable(channel.id, owner="U1")
    assert await targets.untold("slack", "U1") == []

    await targets.disable(channel.id, now=T0, reason="channel_not_found")
    await targets.disable(channel.id, now=T0.replace(hour=9), reason="later")  # already off
    await targets.disable(dms.id, now=T0, reason="cannot_dm_bot")
    assert await targets.disabled() == {channel.id, dms.id}
    [told] = await targets.untold("slack", "U1")
    assert (told.id, told.disabled_at, told.disabled_reason) == (
        channel.id,
        T0,
        "channel_not_found",
    )
    assert await targets.untold("slack", "U1") == []  # told once
    assert [t.id for t in await targets.untold("slack", "U2")] == [dms.id]  # their own DMs
    assert await targets.untold("discord", "U2") == []

    await targets.enable(channel.id)  # owner kept when not given
    assert await targets.disabled() == {dms.id}
    enabled = await targets.by_id(channel.id)
    assert enabled is not None
    assert enabled.disabled_at is None
    await targets.disable(channel.id, now=T0, reason="again")
    assert [t.id for t in await targets.untold("slack", "U1")] == [channel.id]


async def test_workspaces_are_suspended_and_resumed_together(database: Database) -> None:
    targets = database.targets
    a = await targets.ensure("slack", "T1", "channel", "C1")
    b = await targets.ensure("slack", "T1", "user", "U1")
    broken = await targets.ensure("slack", "T1", "channel", "C2")
    other = await targets.ensure("slack", "T2", "channel", "C1")
    discord = await targets.ensure("discord", "T1", "channel", "C1")
    await targets.enable(a.id, owner="U1")
    await targets.disable(broken.id, now=T0, reason="channel_not_found")

    gone = await targets.suspend_workspace("slack", ["T1", "T9"], now=T0, reason="uninstalled")
    assert gone == 2  # the broken one was already off
    assert await targets.disabled() == {a.id, b.id, broken.id}
    assert await targets.untold("slack", "U1") == []  # nobody there to tell
    assert await targets.suspend_workspace("slack", [], now=T0, reason="x") == 0

    assert await targets.resume_workspace("slack", ["T1"]) == 2
    assert await targets.disabled() == {broken.id}  # its own failure still stands
    assert await targets.resume_workspace("slack", ["T1"]) == 0
    for target in (other, discord):
        found = await targets.by_id(target.id)
        assert found is not None
        assert found.disabled_at is None
