"""One typed settings object, read from the environment (and an optional ``.env``) at start-up.

Nothing here runs at import time: :func:`load_settings` is called by the composition root.
Field names are the environment keys (case-insensitive) and form a public contract;
``.env.example`` lists exactly these keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError


class Settings(BaseSettings):
    """Every setting the bot reads. Secrets have no defaults and never appear in ``repr``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    papersbot_database: str = "papersbot.db"
    papersbot_timezone: str = "UTC"
    papersbot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    papersbot_http_timeout: float = Field(default=15.0, gt=0, le=300)
    papersbot_http_retries: int = Field(default=4, ge=0, le=10)
    papersbot_arxiv_min_interval: float = Field(default=3.0, ge=0)
    # Scheduled delivery: how late a missed post may still go out, and the ingest cadence.
    papersbot_grace_hours: float = Field(default=4.0, gt=0, le=72)
    papersbot_lease_seconds: float = Field(default=300.0, ge=1, le=3600)
    papersbot_refresh_minutes: int = Field(default=60, ge=5, le=1440)
    # Operations: /healthz, /readyz, /metrics on their own port (unset: none), log format.
    papersbot_health_host: str = "127.0.0.1"
    papersbot_health_port: int | None = Field(default=None, ge=0, le=65535)
    papersbot_log_format: Literal["text", "json"] = "text"
    # First start with an empty store: weekdays of Daily Papers fetched in the background.
    papersbot_backfill_days: int = Field(default=30, ge=0, le=400)
    papersbot_backfill_interval: float = Field(default=2.0, ge=0, le=60)

    hf_api_url: str = "https://huggingface.co"
    hf_token: SecretStr | None = None
    arxiv_api_url: str = "https://export.arxiv.org/api/query"

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(default=3000, ge=0, le=65535)
    # Slack user ids (comma-separated) who may run `digest on/off` besides admins and owners.
    slack_digest_managers: str = ""
    # Multi-workspace (OAuth) mode: both set selects it; tokens come from the database.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_oauth_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    slack_redirect_uri: str | None = None
    # Fernet key(s) sealing stored platform tokens; comma-separated: the first encrypts.
    papersbot_secret_key: SecretStr | None = None

    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg"

    @field_validator("papersbot_log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("papersbot_log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("papersbot_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Europe/Berlin"
            ) from None
        return value

    @property
    def slack_managers(self) -> frozenset[str]:
        return frozenset(
            part.strip() for part in self.slack_digest_managers.split(",") if part.strip()
        )

    @property
    def slack_oauth(self) -> bool:
        """Multi-workspace mode: an OAuth client id or secret is set (the adapter refuses
        one without the other, naming the missing key)."""
        return self.slack_client_id is not None or self.slack_client_secret is not None

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None or self.slack_oauth

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build settings from the environment; raise :class:`ConfigError` naming the bad key."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]).upper() if err["loc"] else "?"
        raise ConfigError(f"setting {key} is invalid: {err['msg']}") from None
