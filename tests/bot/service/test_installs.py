"""Sealed installation records: what the store holds is never the clear record, a wrong key
is a configuration error naming the setting, and saving a bot record resumes a workspace."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.errors import ConfigError
from bot.service.installs import UNINSTALLED, InstallKey, WorkspaceInstalls
from bot.service.sealing import SealBroken, Sealer, generate_key
from bot.store import Store
from tests.fakes.clock import Clock

BOT = InstallKey("slack", "bot", "", "TA")


def sealer(*keys: str) -> Sealer:
    return Sealer.from_setting(SecretStr(",".join(keys)))


async def test_records_are_sealed_and_open_only_with_the_key(store: Store, clock: Clock) -> None:
    key = generate_key()
    installs = WorkspaceInstalls(store, sealer(key), clock)
    await installs.save(BOT, {"bot_token": "xoxb-secret", "team_id": "TA"})
    [row] = await store.installations.rows("slack")
    assert b"xoxb-secret" not in row.payload
    assert await installs.find(BOT) == {"bot_token": "xoxb-secret", "team_id": "TA"}
    assert await installs.find_workspace("slack", "TA") == {
        "bot_token": "xoxb-secret",
        "team_id": "TA",
    }
    with pytest.raises(SealBroken):
        sealer(generate_key()).open(row.payload)
    stranger = WorkspaceInstalls(store, sealer(generate_key()), clock)
    assert await stranger.find(BOT) is None  # logged, treated as absent
    with pytest.raises(ConfigError, match="PAPERSBOT_SECRET_KEY cannot decrypt 1 of the 1"):
        await stranger.check("slack")


@pytest.mark.parametrize("value", [None, "", "  ", "short", f"{generate_key()},nope"])
def test_a_missing_or_malformed_key_is_a_config_error(value: str | None) -> None:
    with pytest.raises(ConfigError, match="PAPERSBOT_SECRET_KEY"):
        Sealer.from_setting(SecretStr(value) if value is not None else None)


async def test_uninstall_forgets_and_stops_and_a_new_bot_record_resumes(
    store: Store, clock: Clock
) -> None:
    installs = WorkspaceInstalls(store, sealer(generate_key()), clock)
    target = await store.targets.ensure("slack", "TA", "channel", "CA")
    await installs.save(BOT, {"bot_token": "xoxb-1"})
    await installs.save(InstallKey("slack", "installation", "", "TA", "U1"), {"user_id": "U1"})
    assert await installs.uninstalled("slack", "", "TA") == 1
    assert await store.installations.rows("slack") == []
    stopped = await store.targets.by_id(target.id)
    assert stopped is not None
    assert stopped.disabled_reason == UNINSTALLED
    await installs.save(BOT, {"bot_token": "xoxb-2"})
    resumed = await store.targets.by_id(target.id)
    assert resumed is not None
    assert resumed.disabled_at is None
