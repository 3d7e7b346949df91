"""The `kefu-gateway` console script: version and the callback decrypt/encrypt tools.

The main cases run twice: in-process through click's CliRunner and as a real subprocess of the
installed console script (`pip install -e .` puts it next to the venv's python).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

import gateway
from gateway import cli
from gateway.errors import ShaError
from gateway.wechat.crypto import WeChatCrypto, sha1_signature
from gateway.wechat.xmlmsg import parse_xml

ROOT = Path(__file__).parent.parent
VECTORS = {
    v["id"]: v
    for v in json.loads((Path(__file__).parent / "data" / "crypto_vectors.json").read_text("utf-8"))["vectors"]
}
POST = VECTORS["wecom_official_sample_post_msg"]
ECHO = VECTORS["wecom_official_sample_verify_url"]
SCRIPT = Path(sys.executable).with_name("kefu-gateway")


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


Run = Callable[..., Outcome]


def run_in_process(args: Sequence[str], stdin: str | None = None) -> Outcome:
    result = CliRunner().invoke(cli.main, list(args), input=stdin)
    # A crash would also exit 1; only a deliberate exit (SystemExit) is acceptable here.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def run_subprocess(args: Sequence[str], stdin: str | None = None) -> Outcome:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: run `pip install -e .` in the venv"
    proc = subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        cwd=Path(sys.executable).parent,  # not the source tree: the installed script must work alone
        timeout=60,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(params=["in-process", "subprocess"])
def run(request: pytest.FixtureRequest) -> Run:
    return run_in_process if request.param == "in-process" else run_subprocess


def key_args(vector: dict) -> list[str]:
    return [
        "--token",
        vector["token"],
        "--aes-key",
        vector["encoding_aes_key"],
        "--receive-id",
        vector["receive_id"],
    ]


def decrypt_args(vector: dict, **overrides: str) -> list[str]:
    query = {k: vector[k] for k in ("msg_signature", "timestamp", "nonce")} | overrides
    return [
        "callback",
        "decrypt",
        *key_args(vector),
        "--msg-signature",
        query["msg_signature"],
        "--timestamp",
        query["timestamp"],
        "--nonce",
        query["nonce"],
    ]


def assert_one_error_line(outcome: Outcome, sdk_code: int, code: str) -> str:
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith(f"error {sdk_code} {code}: ")
    return lines[0]


# ---------------------------------------------------------------- version


def test_version(run: Run) -> None:
    outcome = run(["version"])
    assert outcome.exit_code == 0
    assert outcome.stdout == f"kefu-gateway {importlib.metadata.version('kefu-gateway')}\n"
    assert outcome.stderr == ""


def test_version_falls_back_to_the_package_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cli, "dist_version", not_installed)
    monkeypatch.setattr(gateway, "__version__", "9.9.9-source")
    assert run_in_process(["version"]).stdout == "kefu-gateway 9.9.9-source\n"


def test_package_version_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert gateway.__version__ == project["version"]
    assert project["scripts"]["kefu-gateway"] == "gateway.cli:main"


def test_help_lists_the_command_groups() -> None:
    outcome = run_in_process(["--help"])
    assert outcome.exit_code == 0
    assert "callback" in outcome.stdout and "version" in outcome.stdout


# ---------------------------------------------------------------- callback decrypt


@pytest.mark.parametrize("flag", ["--encrypt", "--echostr"])
def test_decrypt_url_check_vector(run: Run, flag: str) -> None:
    outcome = run([*decrypt_args(ECHO), flag, ECHO["encrypt"]])
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    assert outcome.stdout == ECHO["expected_plaintext"] + "\n"


def test_decrypt_post_body_from_stdin(run: Run) -> None:
    outcome = run([*decrypt_args(POST), "--body", "-"], stdin=POST["envelope_xml"])
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    assert outcome.stdout == POST["expected_plaintext"] + "\n"


def test_decrypt_post_body_from_file(tmp_path: Path) -> None:
    body = tmp_path / "body.xml"
    body.write_text(POST["envelope_xml"], "utf-8")
    outcome = run_in_process([*decrypt_args(POST), "--body", str(body)])
    assert (outcome.exit_code, outcome.stdout) == (0, POST["expected_plaintext"] + "\n")


def test_decrypt_tampered_signature(run: Run) -> None:
    bad = POST["msg_signature"][:-1] + ("0" if POST["msg_signature"][-1] != "0" else "1")
    outcome = run([*decrypt_args(POST, msg_signature=bad), "--body", "-"], stdin=POST["envelope_xml"])
    assert_one_error_line(outcome, -40001, "callback_bad_signature")


def test_decrypt_tampered_nonce_with_echostr(run: Run) -> None:
    outcome = run([*decrypt_args(ECHO, nonce=ECHO["nonce"] + "0"), "--echostr", ECHO["encrypt"]])
    assert_one_error_line(outcome, -40001, "callback_bad_signature")


def test_decrypt_accepts_any_of_several_receive_ids() -> None:
    args = decrypt_args(POST)
    args[args.index("--receive-id") + 1] = "some-suite-id"
    args += ["--receive-id", POST["receive_id"], "--body", "-"]
    outcome = run_in_process(args, stdin=POST["envelope_xml"])
    assert (outcome.exit_code, outcome.stdout) == (0, POST["expected_plaintext"] + "\n")


@pytest.mark.parametrize(
    ("change", "sdk_code", "code"),
    [
        (("--receive-id", "ww-other-corp"), -40005, "callback_bad_receive_id"),
        (("--aes-key", POST["encoding_aes_key"][:42]), -40004, "callback_bad_aes_key"),
    ],
)
def test_decrypt_other_callback_errors(change: tuple[str, str], sdk_code: int, code: str) -> None:
    args = decrypt_args(POST)
    args[args.index(change[0]) + 1] = change[1]
    outcome = run_in_process([*args, "--body", "-"], stdin=POST["envelope_xml"])
    assert_one_error_line(outcome, sdk_code, code)


def test_decrypt_malformed_body() -> None:
    outcome = run_in_process([*decrypt_args(POST), "--body", "-"], stdin="<xml>\n<Encrypt>abc\n</xml>\n")
    assert_one_error_line(outcome, -40002, "callback_bad_xml")


def test_error_message_is_folded_onto_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> str:
        raise ShaError("first line\nsecond line\r\n  third")

    monkeypatch.setattr(WeChatCrypto, "verify_url", fail)
    outcome = run_in_process([*decrypt_args(ECHO), "--echostr", ECHO["encrypt"]])
    line = assert_one_error_line(outcome, -40003, "callback_sha_error")
    assert line == "error -40003 callback_sha_error: first line second line third"


def test_decrypt_garbage_echostr_with_a_valid_signature() -> None:
    signature = sha1_signature(ECHO["token"], ECHO["timestamp"], ECHO["nonce"], "%%%")
    outcome = run_in_process([*decrypt_args(ECHO, msg_signature=signature), "--echostr", "%%%"])
    assert_one_error_line(outcome, -40010, "callback_bad_base64")


@pytest.mark.parametrize("extra", [[], ["--encrypt", "x", "--body", "-"]], ids=["neither", "both"])
def test_decrypt_needs_exactly_one_input(extra: list[str]) -> None:
    outcome = run_in_process([*decrypt_args(POST), *extra], stdin="")
    assert outcome.exit_code == 2
    assert "exactly one of --encrypt/--echostr or --body" in outcome.stderr


# ---------------------------------------------------------------- callback encrypt


def encrypt_args(vector: dict, *extra: str) -> list[str]:
    return ["callback", "encrypt", *key_args(vector), *extra]


def split_encrypt_output(outcome: Outcome) -> tuple[str, dict[str, str]]:
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    xml, query_line = outcome.stdout.splitlines()
    query = {k: v[0] for k, v in parse_qs(query_line, strict_parsing=True).items()}
    assert list(query) == ["msg_signature", "timestamp", "nonce"]
    return xml, query


def test_encrypt_then_decrypt_round_trip(run: Run) -> None:
    text = "<xml><Content><![CDATA[你好，客服 a+b/c=d]]></Content></xml>"
    xml, query = split_encrypt_output(
        run(encrypt_args(POST, "--timestamp", "1700000000", "--nonce", "n+ce 1", "--text", text))
    )
    assert query["timestamp"] == "1700000000" and query["nonce"] == "n+ce 1"
    assert set(parse_xml(xml)) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}

    outcome = run(
        [
            *decrypt_args(POST, msg_signature=query["msg_signature"], timestamp="1700000000", nonce="n+ce 1"),
            "--body",
            "-",
        ],
        stdin=xml,
    )
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    assert outcome.stdout == text + "\n"


def test_encrypt_output_verifies_with_the_library() -> None:
    xml, query = split_encrypt_output(run_in_process(encrypt_args(POST, "--to-user", "wwcorp", "--text", "hello")))
    assert parse_xml(xml)["ToUserName"] == "wwcorp"
    crypto = WeChatCrypto(POST["token"], POST["encoding_aes_key"], POST["receive_id"])
    assert crypto.decrypt_message(xml, **query) == "hello"


def test_encrypt_defaults_timestamp_now_and_random_nonce() -> None:
    before = int(time.time())
    _, first = split_encrypt_output(run_in_process(encrypt_args(POST, "--text", "x")))
    _, second = split_encrypt_output(run_in_process(encrypt_args(POST, "--text", "x")))
    assert before <= int(first["timestamp"]) <= int(time.time())
    assert first["nonce"].isdigit() and len(first["nonce"]) == 10
    assert first["nonce"] != second["nonce"]


def test_encrypt_file_bytes_are_kept_exactly(tmp_path: Path) -> None:
    source = tmp_path / "msg.xml"
    source.write_bytes("<xml>\r\n<Content>中文</Content>\r\n</xml>\n".encode())
    xml, query = split_encrypt_output(run_in_process(encrypt_args(POST, "--file", str(source))))
    crypto = WeChatCrypto(POST["token"], POST["encoding_aes_key"], POST["receive_id"])
    assert crypto.decrypt_message(xml, **query) == source.read_bytes().decode()


def test_encrypt_file_from_stdin(run: Run) -> None:
    xml, query = split_encrypt_output(run(encrypt_args(POST, "--file", "-"), stdin="来自 stdin"))
    crypto = WeChatCrypto(POST["token"], POST["encoding_aes_key"], POST["receive_id"])
    assert crypto.decrypt_message(xml, **query) == "来自 stdin"


def test_encrypt_rejects_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "gbk.txt"
    source.write_bytes("中文".encode("gbk"))
    outcome = run_in_process(encrypt_args(POST, "--file", str(source)))
    assert outcome.exit_code == 2
    assert "not UTF-8" in outcome.stderr


@pytest.mark.parametrize("extra", [[], ["--text", "a", "--file", "-"]], ids=["neither", "both"])
def test_encrypt_needs_exactly_one_input(extra: list[str]) -> None:
    outcome = run_in_process(encrypt_args(POST, *extra), stdin="")
    assert outcome.exit_code == 2
    assert "exactly one of --text or --file" in outcome.stderr


def test_encrypt_bad_key() -> None:
    args = encrypt_args(POST, "--text", "x")
    args[args.index("--aes-key") + 1] = POST["encoding_aes_key"] + "="
    assert_one_error_line(run_in_process(args), -40004, "callback_bad_aes_key")
