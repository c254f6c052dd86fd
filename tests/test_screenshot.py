"""``make screenshot``: the README's picture of the demo is recorded from the console
renderer, and the committed one is still what the renderer draws."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "demo.svg"
SVG = "{http://www.w3.org/2000/svg}"


def screen_text(path: Path) -> str:
    """The characters on the recorded screen, line by line (styles and layout ignored)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    rows: dict[str, list[str]] = {}
    for node in root.iter(f"{SVG}text"):
        clip = node.get("clip-path", "")
        if "line-" in clip:
            rows.setdefault(clip.rsplit("line-", 1)[1], []).append("".join(node.itertext()))
    return "\n".join(
        "".join(parts).replace("\xa0", " ").rstrip()
        for _, parts in sorted(rows.items(), key=lambda item: int(item[0].rstrip(")")))
    )


def test_the_screenshot_is_the_demo_digest(tmp_path: Path) -> None:
    out = tmp_path / "demo.svg"
    subprocess.run(
        [sys.executable, str(ROOT / "docs" / "screenshot.py"), str(out)],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    text = screen_text(out)
    assert "papersbot demo · offline · bundled snapshot: 21 real Daily Papers days" in text
    assert "Top 5 papers · Daily Papers 2026-08-19" in text
    assert " 1. ASI-Bench: At the Dawn of Artificial Superintelligence" in text
    assert " 5. " in text
    assert "arXiv · PDF" in text  # hyperlinked labels, as a capable terminal shows them
    assert screen_text(COMMITTED) == text, "docs/demo.svg is stale: run `make screenshot`"
