"""`kefu-gateway migrate …` as a team runs it: tables, files, one-line refusals, exit statuses.

The commands run in a worker thread (each `asyncio.run`s its own loop) against the test database
and the in-process simulator, through the same `open_runtime` seam the real commands use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.cli import main
from tests.conftest import TEST_SECRET_KEY
from tests.cutover.support import CORP, cli, runner, setup, wire
from tests.harness import harness


async def test_plan_apply_report_through_the_cli(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        s = await setup(h)
        wire(monkeypatch, h)
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text("Carol: bob\n")
        out = tmp_path / "plan.yaml"
        planned = await cli(
            "migrate", "plan", "--mp-channel", str(s.mp), "--wecom-channel", str(s.wecom),
            "--mapping", str(mapping), "--out", str(out),
        )  # fmt: skip
        assert planned.exit_code == 0, planned.output
        assert "k3@gh_oa" in planned.stdout and "mp_invite" in planned.stdout
        assert yaml.safe_load(out.read_text())["servicers"][1]["servicer"] == "bob"

        dry = await cli("migrate", "apply", str(out), "--dry-run")
        assert dry.exit_code == 0 and "would change 7" in dry.stdout
        first = await cli("migrate", "apply", str(out))
        assert first.exit_code == 0 and "changed 7, unchanged 0" in first.stdout
        again = await cli("migrate", "apply", str(out))
        assert again.exit_code == 0 and "changed 0, unchanged 7" in again.stdout and "nothing to do" in again.stdout
        assert len([a for a in (await h.driver.wecom_corp(CORP))["kf_accounts"] if a["name"] == "oa"]) == 1

        invite = await cli("migrate", "invite", "--plan", str(out), "--dry-run")
        assert invite.exit_code == 0 and "0 followers in scope" in invite.stdout
        on = await cli("migrate", "cutover", "--mp-channel", str(s.mp), "on", "--plan", str(out))
        assert on.exit_code == 0 and "cutover mode on" in on.stdout
        no_link = await cli(
            "migrate", "cutover", "--mp-channel", str(s.mp), "on", "--plan", str(out), "--template", "hi"
        )
        assert no_link.exit_code == 1 and no_link.stderr.count("\n") == 1 and "{link}" in no_link.stderr

        csv_file, chart = tmp_path / "r.csv", tmp_path / "r.svg"
        report = await cli("migrate", "report", "--csv", str(csv_file), "--chart", str(chart))
        assert report.exit_code == 0 and "in scope" in report.stdout
        assert (
            "per MP kf account" in report.stdout
            and "by day" in report.stdout
            and "→ bob" in report.stdout  # k3@gh_oa → bob (narrow terminal: wrapped)
        )
        assert csv_file.read_text().splitlines()[0].startswith("section,key,servicer,in_scope")
        assert chart.read_text().startswith("<svg")

        wrong = await cli("migrate", "plan", "--mp-channel", str(s.wecom), "--wecom-channel", str(s.wecom),
                           "--out", str(tmp_path / "never.yaml"))  # fmt: skip
        assert wrong.exit_code == 1 and "is a wecom channel, not mp" in wrong.stderr
        assert wrong.stderr.count("\n") == 1 and not (tmp_path / "never.yaml").exists()
        unknown = tmp_path / "unknown.yaml"
        unknown.write_text("dave@gh_oa: bob\n")
        refused = await cli("migrate", "plan", "--mp-channel", str(s.mp), "--wecom-channel", str(s.wecom),
                             "--mapping", str(unknown), "--out", str(tmp_path / "never.yaml"))  # fmt: skip
        assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "'dave@gh_oa'" in refused.stderr
        assert not (tmp_path / "never.yaml").exists()


def test_bad_files_are_one_line_and_create_nothing(tmp_path: Path) -> None:
    invoke = runner().invoke
    broken = tmp_path / "m.yaml"
    broken.write_text("Carol: [bob\n")
    out = tmp_path / "plan.yaml"
    result = invoke(
        main,
        ["migrate", "plan", "--mp-channel", "1", "--wecom-channel", "2", "--mapping", str(broken), "--out", str(out)],
    )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "not valid YAML/JSON" in result.stderr
    assert not out.exists() and "Traceback" not in result.output
    missing = invoke(main, ["migrate", "apply", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    partial = tmp_path / "p.yaml"
    partial.write_text("name: x\nmp_channel: 1\n")
    refused = invoke(main, ["migrate", "apply", str(partial)])
    assert refused.exit_code == 1 and "wecom_channel must be a channel id" in refused.stderr
