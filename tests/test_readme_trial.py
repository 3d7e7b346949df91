"""The README's local trial, run as written: gateway and simulator as processes, a customer writes,
the reply reaches them. Only its first line (make a venv and install) is replaced by the test's own
venv on PATH; the ports are moved off 8000/9000 so a running gateway on the machine does not clash."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def trial_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- trial -->", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert lines[0].startswith("python3 -m venv .venv"), "the trial starts by installing into a venv"
    return "\n".join(lines[1:])


def test_the_local_trial_works_as_written(tmp_path: Path) -> None:
    script = trial_script().replace("8000", "18760").replace("9000", "18761")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    done = subprocess.run(
        ["bash", "-e", "-c", script + "\nwait"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    logs = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert done.returncode == 0, done.stderr + logs
    outputs = [line for line in done.stdout.splitlines() if line.startswith(("{", "["))]
    conversations = json.loads(outputs[-3])["data"]
    assert [c["contact"]["name"] for c in conversations] == ["Alice"]
    assert json.loads(outputs[-2])["status"] == "queued"
    deliveries = json.loads(outputs[-1])
    deliveries = deliveries.get("data", deliveries) if isinstance(deliveries, dict) else deliveries
    assert [d["touser"] for d in deliveries] == ["wmtrial-alice"], deliveries
    assert "有的，今天发货" in json.dumps(deliveries, ensure_ascii=False)
    assert re.search(r"channel 1 \(wecom\) created", done.stdout)
