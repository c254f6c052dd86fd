"""Where the recorded real data lives: ``../shared/data`` beside the project root.

``PAPERSBOT_SHARED_DATA`` overrides it (for a checkout placed elsewhere); otherwise the first
``shared/data`` found beside the root or one of its ancestors is used.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    override = os.environ.get("PAPERSBOT_SHARED_DATA")
    if override:
        return Path(override)
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "data"


SHARED_DATA = _find()
