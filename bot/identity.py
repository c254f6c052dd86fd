"""How papersbot names itself to every server it calls (sources and chat platforms alike)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

PROJECT_URL = "https://github.com/papersbot/papersbot"


def bot_version() -> str:
    try:
        return version("papersbot")
    except PackageNotFoundError:
        return "0"


def user_agent() -> str:
    """``papersbot/<version> (+<project url>)``."""
    return f"papersbot/{bot_version()} (+{PROJECT_URL})"
