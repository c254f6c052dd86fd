"""The papersbot command line, in process and as a real installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.cli import main
from bot.service.sealing import Sealer
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real .env, no tokens, a private database, and a dead HF endpoint (no network)."""
    monkeypatch.chdir(tmp_path)
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PAPERSBOT_DATABASE", str(tmp_path / "cli.db"))
    monkeypatch.setenv("HF_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PAPERSBOT_HTTP_RETRIES", "0")
    monkeypatch.setenv("PAPERSBOT_HTTP_TIMEOUT", "2")
    return tmp_path


def test_demo_once_prints_a_real_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--once"]) == 0
    out = capsys.readouterr().out
    assert "bundled snapshot: 21 real Daily Papers days, 596 papers" in out
    assert "Top 5 papers · Daily Papers 2026-08-19" in out
    assert "ASI-Bench" in out
    # piped: the links are plain URLs (no terminal to show hyperlinks)
    assert out.count("· arXiv https://arxiv.org/abs/") >= 5


def test_demo_simulate_prints_posts_as_they_fire(capsys: pytest.CaptureFixture[str]) -> None:
    script = "digest on at 9am tz UTC top 2; subscribe model at 8am tz UTC daily; status"
    assert main(["demo", "--simulate", "2d", "--script", script]) == 0
    out = capsys.readouterr().out
    assert "papers> digest on at 9am tz UTC top 2" in out
    assert "── scheduled post to this channel" in out
    assert "── scheduled post to your DMs" in out
    assert "Top 2 papers · Daily Papers" in out
    assert "0 missed, 0 failed" in out


@pytest.mark.parametrize(
    ("span", "says"), [("3 weeks", "not a span"), ("0d", "between 1 hour and 14 days")]
)
def test_demo_simulate_rejects_a_bad_span_as_bad_usage(
    capsys: pytest.CaptureFixture[str], span: str, says: str
) -> None:
    assert main(["demo", "--simulate", span]) == 2
    assert says in capsys.readouterr().err


def test_search_takes_every_word_after_it_as_the_query_exclusions_included(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = tmp_path / "days.jsonl"
    items = json.loads((DATA / "hf_daily" / "2025-10-14.json").read_text())
    archive.write_text(json.dumps({"date": "2025-10-14", "items": items}) + "\n")
    assert main(["ingest", "--from-file", str(archive)]) == 0
    capsys.readouterr()
    assert main(["search", "model", "-video"]) == 0
    out = capsys.readouterr().out
    assert "for “model -video”" in out
    assert main(["search", "--page", "2", "model", "-video"]) == 0
    assert "Results 6–" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:  # elsewhere an unknown option is still an error
        main(["ingest", "-video"])
    assert usage.value.code == 2


def test_ingest_from_file_then_search(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    archive = tmp_path / "days.jsonl"
    items = json.loads((DATA / "hf_daily" / "2025-10-14.json").read_text())
    archive.write_text(json.dumps({"date": "2025-10-14", "items": items}) + "\n")
    assert main(["ingest", "--from-file", str(archive)]) == 0
    assert main(["ingest", "--from-file", str(DATA / "hf_daily" / "2026-03-16.json")]) == 0
    out = capsys.readouterr().out
    assert "1 day(s): 39 papers, 39 new" in out
    assert "1 day(s): 20 papers, 20 new" in out
    assert main(["search", "reinforcement", "learning"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Results 1–")
    assert all(line[:10].replace(".", "").isdigit() for line in lines[1:])


def test_search_errors_exit_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", '"open']) == 1
    assert "quote is not closed" in capsys.readouterr().out
    assert main(["search", "x", "--page", "0"]) == 2


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ingest", "--date", "2026-13-40"])
    assert info.value.code == 2
    assert "not a date like 2026-08-19" in capsys.readouterr().err


def test_bad_setting_names_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERSBOT_HTTP_TIMEOUT", "soon")
    assert main(["search", "x"]) == 2
    assert "PAPERSBOT_HTTP_TIMEOUT" in capsys.readouterr().err


def test_ingest_with_the_source_down_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--date", "2026-08-19"]) == 1
    out = capsys.readouterr().out
    assert "2026-08-19: failed: Hugging Face:" in out
    assert "http://127.0.0.1:9/api/daily_papers" in out


def test_run_without_tokens_falls_back_to_the_console(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "No SLACK_BOT_TOKEN or DISCORD_TOKEN is set: starting the console adapter." in out
    assert "Hugging Face: never fetched successfully; last attempt just now failed" in out


def test_installed_script_runs_the_demo_without_a_tty(tmp_path: Path) -> None:
    script = shutil.which("papersbot", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run(
        [script, "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Top 5 papers" in done.stdout


def test_secret_key_prints_a_key_that_seals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secret-key"]) == 0
    key = capsys.readouterr().out.strip()
    sealer = Sealer.from_setting(SecretStr(key))
    assert sealer.open(sealer.seal({"bot_token": "xoxb-1"})) == {"bot_token": "xoxb-1"}
    assert main(["secret-key"]) == 0
    assert capsys.readouterr().out.strip() != key  # random every time
