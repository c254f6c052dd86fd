"""Platform tokens at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under the key(s) in ``PAPERSBOT_SECRET_KEY``.

The setting holds one or more Fernet keys separated by commas. The first seals; every one
of them opens, so a key is rotated by putting the new one first and keeping the old one
after it until :meth:`WorkspaceInstalls.check` has re-sealed every row (at the next start).
A payload that none of the keys opens (the key was changed or lost, or the row was
tampered with) raises :class:`SealBroken`; nothing is ever stored in clear.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.errors import ConfigError, PapersbotError

SETTING = "PAPERSBOT_SECRET_KEY"


class SealBroken(PapersbotError):
    """A sealed payload that the configured keys cannot open."""


def generate_key() -> str:
    """A fresh random key for ``PAPERSBOT_SECRET_KEY`` (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class Sealer:
    """Seals JSON objects into bytes and opens them again (see the module docstring)."""

    def __init__(self, keys: list[Fernet]) -> None:
        if not keys:
            raise ConfigError(f"{SETTING} is not set")
        self._primary = keys[0]
        self._all = MultiFernet(keys)

    @classmethod
    def from_setting(cls, value: SecretStr | None) -> Sealer:
        """The sealer for the setting's value; :class:`ConfigError` naming the setting when it
        is missing or not a key (never echoing the value)."""
        if value is None or not value.get_secret_value().strip():
            raise ConfigError(
                f"{SETTING} is not set; Slack OAuth mode stores each workspace's token "
                "encrypted with it. Generate one with `papersbot secret-key`"
            )
        keys: list[Fernet] = []
        for number, part in enumerate(value.get_secret_value().split(","), start=1):
            try:
                keys.append(Fernet(part.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise ConfigError(
                    f"{SETTING} key {number} is not a Fernet key (44 characters of URL-safe "
                    "base64); generate one with `papersbot secret-key`"
                ) from None
        return cls(keys)

    def seal(self, data: Mapping[str, object]) -> bytes:
        """*data* as JSON, encrypted and authenticated under the first key."""
        return self._primary.encrypt(json.dumps(data, sort_keys=True).encode("utf-8"))

    def open(self, sealed: bytes) -> dict[str, object]:
        """The object sealed in *sealed*; :class:`SealBroken` if no key opens it."""
        try:
            plain = self._all.decrypt(sealed)
        except InvalidToken:
            raise SealBroken(f"{SETTING} cannot decrypt a stored token") from None
        data = json.loads(plain)
        if not isinstance(data, dict):
            raise SealBroken("a stored payload is not an object")
        return data

    def current(self, sealed: bytes) -> bool:
        """Whether *sealed* is sealed under the first key (no re-sealing needed)."""
        try:
            self._primary.decrypt(sealed)
        except InvalidToken:
            return False
        return True
