"""`kefu-gateway normalize`: sync_msg JSON and MP callback XML → unified JSON lines; unknown types kept."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main

DATA = Path(__file__).parent / "data"


def run(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(main, ["normalize", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines


def test_wecom_response_with_every_type() -> None:
    code, lines = run("--platform", "wecom", str(DATA / "wecom_kf" / "sync_msg_response_gochat_all_types.json"))
    assert code == 0
    messages = [line for line in lines if line["kind"] == "message"]
    assert messages and all(m["raw"] for m in messages)
    assert {"text", "image"} <= {m["content_type"] for m in messages}


def test_wecom_unknown_msgtype_is_kept(tmp_path: Path) -> None:
    item = {
        "msgid": "m1",
        "open_kfid": "wk1",
        "external_userid": "wm1",
        "send_time": 1700000000,
        "origin": 3,
        "msgtype": "hologram",
        "hologram": {"beam": 1},
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"errcode": 0, "next_cursor": "c", "has_more": 0, "msg_list": [item]}))
    code, lines = run("--platform", "wecom", str(path))
    assert code == 0
    [line] = lines
    assert line["content_type"] == "unknown" and line["raw"]["hologram"] == {"beam": 1}


def test_mp_callback_menu_click() -> None:
    code, lines = run(
        "--platform", "mp", "--app-id", "wxA", str(DATA / "mp_kefu" / "callback_msg_text_msgmenu_click.xml")
    )
    assert code == 0
    [line] = lines
    assert (line["content_type"], line["content_attributes"]["menu_id"], line["inbox_source_id"]) == (
        "text",
        "101",
        "wxA",
    )


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("not json")
    result = CliRunner().invoke(main, ["normalize", "--platform", "wecom", str(path)])
    assert result.exit_code == 1 and "not a JSON sync_msg response" in result.output
    bad_xml = tmp_path / "bad.xml"
    bad_xml.write_text("<!DOCTYPE x [<!ENTITY a 'b'>]><xml>&a;</xml>")
    result = CliRunner().invoke(main, ["normalize", "--platform", "mp", str(bad_xml)])
    assert result.exit_code == 1 and "callback_bad_xml" in result.output
