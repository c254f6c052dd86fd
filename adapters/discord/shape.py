"""The shape of a slash command's ``data`` checked before discord.py parses it.

Discord sends well-formed interactions; a replay, a proxy bug or a forged gateway frame may
not. discord.py trusts the shape (a non-list ``options`` raises ``AttributeError`` in its
task, and the user sees "The application did not respond"), so :class:`CheckedTree` looks
first and answers a malformed one with a short message instead. Values are not checked
here: discord.py's transformers and the core do that, and their errors already get replies.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import discord
from discord import app_commands

log = logging.getLogger(__name__)

MAX_DEPTH = 3  # command → group → subcommand
MALFORMED = "That request was malformed; please run the command again."
_SCALARS = (str, int, float, bool)


def problem(data: Any) -> str | None:
    """Why *data* (a chat-input command's ``data``) is not the shape Discord sends."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return "data is not an object with a name"
    return _options(data.get("options", []), 1)


def _options(options: Any, depth: int) -> str | None:
    if not isinstance(options, list):
        return f"options at depth {depth} are not a list"
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            return f"an option at depth {depth} has no name"
        if not isinstance(option.get("type"), int) or isinstance(option.get("type"), bool):
            return f"option {option['name'][:40]!r} has no integer type"
        if option["type"] in (1, 2):
            if depth >= MAX_DEPTH:
                return "subcommands nested too deep"
            if (found := _options(option.get("options", []), depth + 1)) is not None:
                return found
        elif not _fits_declared(option["type"], option.get("value")):
            return f"option {option['name'][:40]!r} has no value, or one its type cannot hold"
    return None


def _fits_declared(kind: int, value: object) -> bool:
    """Whether *value* is what discord.py can convert for the option type Discord declared
    (it converts by that type, ``float("abc")`` included, before any check of ours)."""
    if not isinstance(value, _SCALARS):
        return False
    if kind == 5:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind in (4, 10):
        return isinstance(value, int | float)
    if kind in (6, 7, 8, 9, 11):  # snowflakes, as strings
        return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 21
    return isinstance(value, str) if kind == 3 else True


class CheckedTree(app_commands.CommandTree[Any]):
    """A command tree that refuses malformed command data before parsing it."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.type not in (
            discord.InteractionType.application_command,
            discord.InteractionType.autocomplete,
        ):
            return True
        found = problem(interaction.data) or self._value_problem(interaction.data)
        if found is None:
            return True
        log.warning("malformed interaction %s refused: %s", interaction.id, found)
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(
                MALFORMED, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        return False

    def _value_problem(self, data: Any) -> str | None:
        """Walk the names down to the leaf command this build has, then check its values."""
        found = self.get_command(data["name"])
        options: list[Any] = data.get("options", [])
        while isinstance(found, app_commands.Group):
            branch = next((o for o in options if o["type"] in (1, 2)), None)
            if branch is None:
                return None  # discord.py reports the mismatch
            found = found.get_command(branch["name"])
            options = branch.get("options", [])
        if isinstance(found, app_commands.Command):
            return value_problem(found, options)
        return None


_KINDS: dict[discord.AppCommandOptionType, tuple[type, ...]] = {
    discord.AppCommandOptionType.string: (str,),
    discord.AppCommandOptionType.integer: (int,),
    discord.AppCommandOptionType.number: (int, float),
    discord.AppCommandOptionType.boolean: (bool,),
}
MAX_SAFE_INTEGER = 2**53  # Discord's integer options stay within ±2^53


def value_problem(command: app_commands.Command[Any, ..., Any], options: list[Any]) -> str | None:
    """Why an option's value does not fit the parameter this build declares (discord.py
    passes a declared integer's ``"ten"`` straight through; Discord itself checks types,
    ranges, lengths and choices, so only a forged or stale payload gets this far)."""
    params = {p.display_name: p for p in command.parameters}
    for option in options:
        param = params.get(option["name"])
        if param is None or "value" not in option:
            continue
        if option["type"] != param.type.value:  # discord.py converts by the sent type
            return f"option {param.display_name!r} is not of type {param.type.name}"
        value, kinds = option["value"], _KINDS.get(param.type)
        if kinds is None:
            continue
        if isinstance(value, bool) is not (param.type is discord.AppCommandOptionType.boolean):
            return f"option {param.display_name!r} is not of type {param.type.name}"
        if isinstance(value, bool):
            continue
        if not isinstance(value, kinds):
            return f"option {param.display_name!r} is not of type {param.type.name}"
        # discord.py keeps a string's length range in min_value / max_value too.
        size = len(value) if isinstance(value, str) else cast(float, value)
        low: float = param.min_value if param.min_value is not None else -MAX_SAFE_INTEGER
        high: float = param.max_value if param.max_value is not None else MAX_SAFE_INTEGER
        if not low <= size <= high:
            return f"option {param.display_name!r} is out of range"
        if param.choices and value not in {c.value for c in param.choices}:
            return f"option {param.display_name!r} is not one of its choices"
    return None
