"""`kefu-gateway migrate …` run where it cannot work (no database, a database behind the code, the
demo's key, a wrong channel) says so in one line, exits non-zero and writes no file: no empty
./kefu-gateway.db, no plan, no CSV or chart.

Real processes of the installed console script in a fresh directory each (SQLite), as in
tests/migrate/test_cli_failures.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cutover.planfile import AccountTarget, ContactWayTarget, Plan, dump_plan
from gateway.db import migrate
from gateway.settings import DEMO_SECRET_KEY
from tests.migrate.test_cli_failures import _add_channel, one_line, run

PLAN = "plan.yaml"
COMMANDS = [
    ["migrate", "plan", "--mp-channel", "1", "--wecom-channel", "2", "--out", "new-plan.yaml"],
    ["migrate", "apply", PLAN],
    ["migrate", "apply", PLAN, "--dry-run"],
    ["migrate", "invite", "--plan", PLAN, "--dry-run"],
    ["migrate", "cutover", "--mp-channel", "1", "on", "--plan", PLAN],
    ["migrate", "report", "--csv", "r.csv", "--chart", "r.svg"],
]


def _plan(directory: Path) -> None:
    ways = [ContactWayTarget(entry="invite", scene="mp_invite", account="main")]
    accounts = [AccountTarget(key="main", name="oa")]
    dump_plan(Plan(name="p", mp_channel=1, wecom_channel=2, accounts=accounts, contact_ways=ways), directory / PLAN)


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != PLAN and not p.name.startswith("kefu-gateway.db"))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[1:3]))
def test_no_database_is_one_line_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    _plan(tmp_path)
    one_line(run(args, tmp_path), "run `kefu-gateway db upgrade` first")
    assert sorted(p.name for p in tmp_path.iterdir()) == [PLAN]


def test_a_database_behind_the_code_and_the_demo_key_are_one_line(tmp_path: Path) -> None:
    _plan(tmp_path)
    migrate.upgrade(f"sqlite:///{tmp_path / 'kefu-gateway.db'}", "0006c_job_lanes")
    for i, args in enumerate(COMMANDS):  # the same check opens every command: half each, to save time
        if i % 2:
            one_line(run(args, tmp_path, GATEWAY_SECRET_KEY=DEMO_SECRET_KEY), "public demo key")
        else:
            one_line(run(args, tmp_path), "is at 0006c_job_lanes")
    assert _files(tmp_path) == []


def test_wrong_channels_and_no_applied_plan_are_one_line(tmp_path: Path) -> None:
    _plan(tmp_path)
    path = tmp_path / "kefu-gateway.db"
    migrate.upgrade(f"sqlite:///{path}")
    one_line(run(COMMANDS[0], tmp_path), "--mp-channel 1: no such channel")
    wecom = _add_channel(path, "wecom")  # id 1: a WeCom channel where the plan wants MP
    one_line(run(COMMANDS[0], tmp_path), f"--mp-channel {wecom}: channel 'wecom-1' is a wecom channel, not mp")
    one_line(run(COMMANDS[1], tmp_path), "is a wecom channel, not mp")
    one_line(run(COMMANDS[3], tmp_path), "run `migrate apply` first")
    one_line(run(COMMANDS[4], tmp_path), "run `migrate apply` first")
    one_line(run(["migrate", "cutover", "--mp-channel", "1", "off"], tmp_path), "--mp-channel 1: no such MP channel")
    one_line(run(COMMANDS[5], tmp_path), "no cutover plan has been applied yet")
    assert _files(tmp_path) == []
