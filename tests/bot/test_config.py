"""Settings: the public key contract with ``.env.example``, errors naming the key, secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
KEYS = sorted(name.upper() for name in Settings.model_fields)
SECRETS = [
    "HF_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DISCORD_TOKEN",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine, and no stray ``.env`` is read."""
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
        monkeypatch.delenv(key.lower(), raising=False)
    monkeypatch.chdir(tmp_path)


def example_keys() -> list[str]:
    lines = (ROOT / ".env.example").read_text("utf-8").splitlines()
    return [m.group(1) for line in lines if (m := re.match(r"\s*([A-Z][A-Z0-9_]*)\s*=", line))]


def test_env_example_names_exactly_the_settings_keys() -> None:
    keys = example_keys()
    assert len(keys) == len(set(keys)), "a key is listed twice"
    assert sorted(keys) == KEYS


def test_every_example_key_has_a_comment_above_it() -> None:
    lines = (ROOT / ".env.example").read_text("utf-8").splitlines()
    for index, line in enumerate(lines):
        if re.match(r"[A-Z]", line):
            above = [previous for previous in lines[:index] if previous.strip()]
            assert above, line
            assert above[-1].startswith("#") or re.match(r"[A-Z]", above[-1]), line


def test_the_example_file_loads_as_the_defaults() -> None:
    assert load_settings(env_file=ROOT / ".env.example") == load_settings(env_file=None)


def test_defaults_match_the_design() -> None:
    settings = load_settings(env_file=None)
    assert settings.papersbot_database == "papersbot.db"
    assert settings.papersbot_timezone == "UTC"
    assert settings.hf_api_url == "https://huggingface.co"
    assert settings.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.slack_http_port == 3000
    assert settings.discord_api_url == "https://discord.com/api/v10"
    assert settings.discord_gateway_url == "wss://gateway.discord.gg"
    for key in SECRETS:
        assert getattr(settings, key.lower()) is None
    assert not settings.slack_configured
    assert not settings.discord_configured


def test_environment_and_env_file_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "custom.env").write_text("PAPERSBOT_DATABASE=/data/p.db\nSLACK_HTTP_PORT=8080\n")
    monkeypatch.setenv("DISCORD_GUILD_ID", "1234567890")
    settings = load_settings(env_file=tmp_path / "custom.env")
    assert settings.papersbot_database == "/data/p.db"
    assert settings.slack_http_port == 8080
    assert settings.discord_guild_id == 1234567890


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PAPERSBOT_HTTP_TIMEOUT", "soon"),
        ("PAPERSBOT_HTTP_TIMEOUT", "0"),
        ("PAPERSBOT_HTTP_RETRIES", "11"),
        ("SLACK_HTTP_PORT", "70000"),
        ("DISCORD_GUILD_ID", "my-server"),
    ],
)
def test_bad_value_names_the_key(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    message = str(info.value)
    assert key in message
    assert "\n" not in message


def test_bad_value_in_env_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PAPERSBOT_ARXIV_MIN_INTERVAL=-1\n")
    with pytest.raises(ConfigError, match="PAPERSBOT_ARXIV_MIN_INTERVAL"):
        load_settings()


def test_empty_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (*SECRETS, "DISCORD_GUILD_ID", "PAPERSBOT_HTTP_TIMEOUT", "SLACK_HTTP_PORT"):
        monkeypatch.setenv(key, "")
    settings = load_settings(env_file=None)
    assert settings.discord_guild_id is None
    assert settings.papersbot_http_timeout == 15.0
    assert settings.slack_http_port == 3000
    for key in SECRETS:
        assert getattr(settings, key.lower()) is None
    assert not settings.slack_configured


def test_secrets_never_show_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {key: f"secret-{key.lower()}-value" for key in SECRETS}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env_file=None)
    shown = repr(settings) + str(settings) + repr(settings.model_dump())
    for key, value in values.items():
        assert value not in shown
        assert getattr(settings, key.lower()).get_secret_value() == value
    assert settings.slack_configured
    assert settings.discord_configured


def test_a_bad_setting_does_not_echo_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_HTTP_PORT", "xoxb-very-secret")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert "SLACK_HTTP_PORT" in str(info.value)
    assert "xoxb-very-secret" not in str(info.value)


def test_settings_are_frozen() -> None:
    settings = load_settings(env_file=None)
    with pytest.raises(ValueError, match="frozen"):
        settings.papersbot_database = "other.db"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("PAPERSBOT_LOG_LEVEL", "verbose", "PAPERSBOT_LOG_LEVEL"),
        ("PAPERSBOT_TIMEZONE", "Europe/Berln", "Europe/Berlin"),
        ("PAPERSBOT_TIMEZONE", "America", "PAPERSBOT_TIMEZONE"),  # a tzdata directory
        ("PAPERSBOT_GRACE_HOURS", "0", "PAPERSBOT_GRACE_HOURS"),
        ("PAPERSBOT_REFRESH_MINUTES", "1", "PAPERSBOT_REFRESH_MINUTES"),
    ],
)
def test_log_level_and_time_zone_are_validated(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert needle in str(info.value)


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERSBOT_LOG_LEVEL", "debug")
    assert load_settings(env_file=None).papersbot_log_level == "DEBUG"
