"""docker-compose.yml and the Dockerfile stay runnable without Docker: structure, settings, commands, ports."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gateway.cli import main

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
REPLICAS = ("gateway-1", "gateway-2")
SETTINGS = set(re.findall(r'"(GATEWAY_[A-Z_]+)"', (ROOT / "gateway" / "settings.py").read_text()))


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)  # the JSON (exec) form: no shell between Docker and the process
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def _final_stage() -> list[tuple[str, str]]:
    steps = _dockerfile()
    start = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[start:]


def test_the_services_are_all_there() -> None:
    assert set(SERVICES) == {"postgres", "migrate", *REPLICAS, "simulator"}


def test_postgres_is_healthchecked_and_keeps_its_data_in_a_named_volume() -> None:
    postgres = SERVICES["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    sources = [v.split(":", 1)[0] for v in postgres["volumes"]]
    assert any(s in COMPOSE["volumes"] for s in sources), "PostgreSQL data must live in a named volume"
    assert "/var/lib/postgresql/data" in " ".join(postgres["volumes"])


def test_migrate_runs_once_after_postgres_is_healthy() -> None:
    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate.get("restart", "no") == "no"  # a one-shot: compose waits for it to complete


@pytest.mark.parametrize("name", REPLICAS)
def test_replicas_serve_after_migrations_on_the_shared_postgres(name: str) -> None:
    replica = SERVICES[name]
    assert replica["command"][:1] == ["serve"] and "0.0.0.0" in replica["command"]
    assert replica["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    env = replica["environment"]
    assert re.fullmatch(r"postgresql://[^@]+@postgres:5432/\w+", _interpolated(env["GATEWAY_DATABASE_URL"]))
    assert env["GATEWAY_PUBLIC_URL"]
    assert "/healthz" in " ".join(replica["healthcheck"]["test"])
    assert [v.split(":", 1)[0] for v in replica["volumes"]] == ["media"], "the media vault is shared"


def test_the_replicas_share_one_database_and_one_key() -> None:
    envs = [SERVICES[name]["environment"] for name in (*REPLICAS, "migrate")]
    assert len({e["GATEWAY_DATABASE_URL"] for e in envs}) == 1
    assert len({e["GATEWAY_SECRET_KEY"] for e in envs}) == 1


def test_the_secret_key_comes_from_the_environment_with_no_default() -> None:
    for name in (*REPLICAS, "migrate"):
        value = SERVICES[name]["environment"]["GATEWAY_SECRET_KEY"]
        # ${VAR} or ${VAR:?message} / ${VAR?message} (fail when unset); never ${VAR:-default} or a literal
        assert re.fullmatch(r"\$\{GATEWAY_SECRET_KEY(:?\?[^}]*)?\}", value), value


def test_every_gateway_variable_used_is_a_real_setting() -> None:
    used: set[str] = set()
    for service in SERVICES.values():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        used |= {key for key in env if key.startswith("GATEWAY_")}
        used |= {key for value in env.values() for key in re.findall(r"\$\{(GATEWAY_[A-Z_]+)", str(value))}
    assert used, "the gateway is configured through GATEWAY_* variables"
    assert used - SETTINGS == set(), "compose sets variables gateway/settings.py does not read"


def test_published_ports_are_bound_to_loopback_only() -> None:
    published = [(name, port) for name, s in SERVICES.items() for port in s.get("ports", [])]
    assert published
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    hosts = [port.split(":")[1] for _, port in published]
    assert len(hosts) == len(set(hosts)), "two services publish the same host port"


def test_named_volumes_are_declared() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"{name} mounts undeclared volume {source}"


@pytest.mark.parametrize("name", ["migrate", *REPLICAS, "simulator"])
def test_every_service_command_is_a_real_cli_command(name: str) -> None:
    service = SERVICES[name]
    assert service["image"] == SERVICES["migrate"]["image"] and service["build"] == "."
    result = CliRunner().invoke(main, [*service["command"], "--help"])
    assert result.exit_code == 0, f"{name}: `kefu-gateway {' '.join(service['command'])}` fails: {result.output}"


def test_the_simulator_listens_on_all_interfaces_of_its_container() -> None:
    command = SERVICES["simulator"]["command"]
    assert command[0] == "simulator" and command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert any(p.endswith(f":{port}") for p in SERVICES["simulator"]["ports"])


def test_dockerfile_installs_the_package_and_runs_the_console_script() -> None:
    script = next(iter(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]))
    steps = _dockerfile()
    copied = " ".join(args for op, args in steps if op == "COPY")
    for needed in ("pyproject.toml", "gateway", "kefu_sim", "migrations", "requirements.lock"):
        assert needed in copied, f"the image build needs {needed}"
    installs = [args for op, args in steps if op == "RUN" and "pip install" in args]
    assert installs and any(re.search(r"pip install .*\s\.(\s|$)", args) for args in installs)
    assert all("-c requirements.lock" in args for args in installs), "the image installs the locked versions"
    final = _final_stage()
    entrypoint = [_exec_form(args) for op, args in final if op == "ENTRYPOINT"]
    assert entrypoint == [[script]]
    cmd = [_exec_form(args) for op, args in final if op == "CMD"]
    assert cmd and cmd[-1][0] == "serve"
    assert CliRunner().invoke(main, [*cmd[-1], "--help"]).exit_code == 0
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the gateway should not run as root"


def test_dockerignore_keeps_what_the_image_needs() -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip()]
    for needed in ("pyproject.toml", "README.md", "gateway", "migrations", "gateway/cli.py", "requirements.lock"):
        assert not any(fnmatch.fnmatch(needed, p) for p in patterns), f".dockerignore drops {needed}"
    assert ".venv" in patterns and ".git" in patterns


def _interpolated(value: str) -> str:
    """Apply compose's ${VAR:-default} with defaults only (what an unset environment yields)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_the_lock_pins_every_dependency_of_the_project() -> None:
    """requirements.lock (scripts/lock) must cover pyproject's dependencies and test extra, each pinned."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pinned = {
        re.split(r"==", line)[0].lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in wanted:
        name = re.split(r"[<>=!\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements.lock: run scripts/lock"
