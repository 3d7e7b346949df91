"""README stays true: module map paths exist, every GATEWAY_* variable is documented, commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_module_map_paths_exist() -> None:
    section = README.split("## Module map", 1)[1].split("\n## ", 1)[0]
    paths = re.findall(r"^\| `([^`]+)`", section, flags=re.M)
    paths += re.findall(r"`(gateway/[\w/]+\.py)`", section)
    assert len(paths) > 10
    for path in paths:
        assert (ROOT / path.rstrip("/")).exists(), f"README module map names {path}, which does not exist"
    for module in re.findall(r"`(\w+\.py)`", section):
        hits = list((ROOT / "gateway").rglob(module))
        assert hits, f"README mentions {module}, which is not in gateway/"


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    code = (ROOT / "gateway" / "settings.py").read_text()
    in_code = set(re.findall(r'"(GATEWAY_[A-Z_]+)"', code))
    table = README.split("### Configuration reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(GATEWAY_[A-Z_]+)`", table))
    assert in_code - documented == set(), "settings missing from the README table"
    assert documented - in_code - {"GATEWAY_TEST_DATABASE_URL"} == set(), "README documents unknown settings"


def test_the_two_commands_are_real() -> None:
    assert "scripts/test" in README and (ROOT / "scripts" / "test").exists()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
    assert "kefu-gateway demo" in README


def test_documented_commands_exist() -> None:
    line = README.split("## Command line", 1)[1].split("\n\n", 2)[1]
    names = {w for w in re.findall(r"[a-z][a-z-]+", line.replace("kefu-gateway", ""))}
    runner = CliRunner()
    for name in ("serve", "demo", "simulator", "sync", "db", "channel", "callback", "version"):
        assert name in names
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, f"`kefu-gateway {name}` is documented but missing: {result.output}"
