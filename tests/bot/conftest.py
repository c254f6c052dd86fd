"""Fixtures for the core tests: where the recorded real data lives, and the dispatcher's
parts on the shared clock and recording courier (tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.delivery.dispatcher import Dispatcher
from bot.service.papersbot import PapersBot
from bot.store import Store
from tests.fakes.clock import Clock
from tests.fakes.courier import RecordingCourier
from tests.shared_data import SHARED_DATA

# tests/bot/conftest.py -> tests -> project root -> its parent, which holds shared/
DATA = SHARED_DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The recorded API responses shared by every project (read-only)."""
    assert DATA.is_dir(), f"recorded data missing at {DATA}"
    return DATA


@pytest.fixture(scope="session")
def archive(data_dir: Path) -> Path:
    """The gzipped JSON-lines archive: 520 recorded Daily Papers days, 8,826 items."""
    return data_dir / "hf_daily_archive.jsonl.gz"


@pytest.fixture
def bot(store: Store, clock: Clock) -> PapersBot:
    return PapersBot(store=store, clock=clock)


@pytest.fixture
def dispatcher(store: Store, clock: Clock, courier: RecordingCourier) -> Dispatcher:
    return Dispatcher(store, clock, {"slack": courier}, grace=timedelta(hours=4))
