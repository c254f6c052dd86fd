"""The container, compose, systemd and reverse-proxy files, checked the way their tools read
them (no Docker engine, Caddy or nginx runs here; `make lint` runs hadolint on the
Dockerfile, and `systemd-analyze verify` checks the unit where it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from tests.deploy_files import ROOT, healthcheck_command, stages

DEPLOY = ROOT / "deploy"


def test_the_image_is_built_in_two_stages_on_slim_python_311() -> None:
    build, runtime = stages()
    assert build.name == "build"
    for stage in (build, runtime):
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stage.base), stage.base
    [install] = [run for run in build.all("RUN") if "pip install" in run]
    assert "pip install --no-cache-dir ." in install
    assert "[dev]" not in install  # runtime dependencies only
    # the runtime stage installs nothing: it copies the built virtualenv
    assert not any("pip" in run for run in runtime.all("RUN"))
    assert runtime.all("COPY") == ["--from=build /opt/papersbot /opt/papersbot"]


def test_the_image_runs_as_an_unprivileged_user_with_the_database_on_a_volume() -> None:
    runtime = stages()[-1]
    user, _, group = runtime.one("USER").partition(":")
    assert user.isdigit(), "a fixed uid"
    assert int(user) >= 1000, "not root, not a system account of the base image"
    assert group.isdigit()
    assert int(group) >= 1000
    assert runtime.one("VOLUME") == '["/data"]'
    env = runtime.env()
    assert env["PAPERSBOT_DATABASE"].startswith("/data/")
    assert runtime.one("WORKDIR") == "/data"
    assert env["PAPERSBOT_HEALTH_HOST"] == "0.0.0.0"  # reachable for a scraper, via -p
    assert env["PAPERSBOT_HEALTH_PORT"] in runtime.one("EXPOSE").split()
    assert runtime.one("CMD") == '["papersbot", "run"]'


def test_the_healthcheck_asks_healthz_on_the_ops_port_without_curl() -> None:
    runtime = stages()[-1]
    command = healthcheck_command(runtime)
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    assert "PAPERSBOT_HEALTH_PORT" in command[2]
    compile(command[2], "HEALTHCHECK", "exec")  # valid Python
    options = runtime.one("HEALTHCHECK").split(" CMD ")[0]
    assert "--interval=" in options
    assert "--start-period=" in options
    assert not any("curl" in run for stage in stages() for run in stage.all("RUN"))


def test_the_build_context_leaves_secrets_and_state_out() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"  # deny everything, then allow what the build copies
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "LICENSE", "bot", "adapters"}
    build = stages()[0]
    copied = {word.rstrip("/") for copy in build.all("COPY") for word in copy.split()[:-1]}
    assert copied <= allowed


def _compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_the_image_with_its_volume_env_file_and_healthcheck() -> None:
    compose = _compose()
    service = compose["services"]["papersbot"]  # type: ignore[index]
    runtime = stages()[-1]
    env = runtime.env()
    assert service["build"] == "."
    assert service["command"] == ["papersbot", "run"]
    assert service["restart"] == "unless-stopped"
    assert service["env_file"] == ".env"
    [volume] = service["volumes"]
    name, _, mount = volume.partition(":")
    assert mount == "/data"
    assert name in compose["volumes"]  # type: ignore[operator]
    environment = service["environment"]
    assert environment["PAPERSBOT_DATABASE"] == env["PAPERSBOT_DATABASE"]
    assert str(environment["PAPERSBOT_HEALTH_PORT"]) == env["PAPERSBOT_HEALTH_PORT"]
    assert not [key for key in environment if key.endswith(("TOKEN", "SECRET"))]
    assert f"127.0.0.1:8080:{env['PAPERSBOT_HEALTH_PORT']}" in service["ports"]
    assert service["healthcheck"]["test"] == ["CMD", *healthcheck_command(runtime)]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]


def test_compose_offers_postgresql_only_under_its_profile() -> None:
    compose = _compose()
    services = compose["services"]
    assert isinstance(services, dict)
    # a plain `docker compose up` starts exactly what it did before
    assert [name for name, service in services.items() if "profiles" not in service] == [
        "papersbot"
    ]
    postgres = services["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert postgres["image"] == "postgres:15"
    [volume] = postgres["volumes"]
    assert volume == "postgres-data:/var/lib/postgresql/data"
    assert "postgres-data" in compose["volumes"]  # type: ignore[operator]
    environment = postgres["environment"]
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert environment[key].startswith(f"${{{key}:-"), "from .env, with a default"
    assert "ports" not in postgres, "reached on the compose network only"
    kind, command = postgres["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    assert command.startswith("pg_isready ")
    text = (ROOT / "compose.yaml").read_text()
    assert "PAPERSBOT_DATABASE=postgresql://papersbot:" in text
    assert "docker compose --profile postgres up -d" in text


def _unit() -> dict[str, list[str]]:
    """``Key`` -> values, over every section (keys do not repeat across sections here)."""
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "papersbot.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_the_systemd_unit_restarts_on_failure_and_is_sandboxed() -> None:
    unit = _unit()
    assert unit["ExecStart"] == ["/opt/papersbot/bin/papersbot run"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"]  # a configuration error stays down
    assert unit["DynamicUser"] == ["yes"]
    assert unit["StateDirectory"] == ["papersbot"]
    assert "PAPERSBOT_DATABASE=/var/lib/papersbot/papersbot.db" in unit["Environment"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictSUIDSGID": "yes",
    }.items():
        assert unit[key] == [value], key


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    # verify also checks that ExecStart exists: point it at this checkout's papersbot
    script = shutil.which("papersbot", path=str(Path(__import__("sys").executable).parent))
    assert script is not None
    unit = tmp_path / "papersbot.service"
    text = (DEPLOY / "papersbot.service").read_text()
    unit.write_text(text.replace("/opt/papersbot/bin/papersbot", script))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", "systemd-analyze warns about the unit"


def test_the_proxies_forward_slack_to_the_slack_port_behind_tls() -> None:
    port = Settings.model_fields["slack_http_port"].default
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"handle /slack/\* \{\s*reverse_proxy 127\.0\.0\.1:(\d+)", caddy)
    assert f"reverse_proxy 127.0.0.1:{port}" in caddy
    assert "max_size 1MB" in caddy
    assert caddy.count("{") == caddy.count("}")
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert f"server 127.0.0.1:{port};" in nginx
    assert re.search(r"location /slack/ \{\s*proxy_pass http://papersbot_slack;", nginx)
    assert "listen 443 ssl;" in nginx
    assert "return 301 https://$host$request_uri;" in nginx
    assert nginx.count("{") == nginx.count("}")
