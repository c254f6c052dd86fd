"""Who issued a command, and where: what an adapter tells the core about each request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """Who typed or pressed, and where. ``user_name`` is for attribution text only: adapters
    escape it like any user text, and render attributions with their own mention syntax
    from ``user_id`` where the platform makes that safe."""

    platform: str = "console"
    user_id: str = ""
    user_name: str = "someone"
    channel_id: str | None = None
    workspace_id: str | None = None  # Slack team or Discord guild
    # Where this user's DMs live when a platform's DMs are per workspace (Slack with one
    # token per workspace, OAuth mode); None: one DM conversation per user platform-wide.
    dm_workspace: str | None = None
    # Set by adapters for `subscribe` and `digest`: may this user manage the channel's
    # digest (Discord: Manage Channels; Slack: admin, owner or allow-listed), and their
    # platform time zone where the platform knows it (Slack `users.info`).
    can_manage: bool = False
    timezone: str | None = None
