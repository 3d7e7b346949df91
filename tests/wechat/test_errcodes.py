"""The errcode registry: complete for the simulator, consistent with the job runner, documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.errors import ChannelMisconfigured, PlatformError, TransportError
from gateway.wechat.errcodes import ERRCODES, markdown, platform_error

ROOT = Path(__file__).resolve().parent.parent.parent
# numbers in the simulator's source that look like errcodes but are not
NOT_ERRCODES = {86400}


def simulator_errcodes() -> set[int]:
    found: set[int] = {-1}
    for path in (ROOT / "kefu_sim").rglob("*.py"):
        found |= {int(n) for n in re.findall(r"(?<![\d.])([4-9]\d{4})(?![\d.])", path.read_text())}
    return found - NOT_ERRCODES


def test_every_errcode_the_simulator_answers_is_registered() -> None:
    missing = sorted(simulator_errcodes() - set(ERRCODES))
    assert missing == []


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [
        (95014, 422, "agent_not_servicer"),
        (95019, 409, "agent_unavailable"),
        (95013, 409, "conversation_ended"),
        (95021, 422, "upgrade_target_not_configured"),
        (40005, 422, "invalid_media"),
        (65406, 409, "already_exists"),
        (65409, 422, "invalid_wechat_id"),
        (65411, 409, "invitation_conflict"),
        (65414, 409, "served_by_another_agent"),
        (95004, 404, "platform_not_found"),
        (40001, 424, "channel_misconfigured"),
        (60020, 424, "channel_misconfigured"),
        (95018, 409, "state_forbids_api"),
        (45047, 409, "quota_exhausted"),
        (-1, 503, "platform_busy"),
        (45009, 503, "platform_rate_limited"),
    ],
)
def test_client_mistakes_are_not_502(errcode: int, status: int, code: str) -> None:
    exc = platform_error(errcode, "platform wording", path="/x")
    assert (exc.status_code, exc.code) == (status, code)
    assert exc.to_dict() | {"errcode": errcode, "errmsg": "platform wording"} == exc.to_dict()
    assert exc.message.startswith(ERRCODES[errcode].meaning) and str(errcode) in exc.message


def test_transient_means_retry_after_means_502_or_503() -> None:
    """The job runner retries `transient` errors; the API invites a retry exactly for those."""
    classes = {entry.error for entry in ERRCODES.values()} | {TransportError, PlatformError}
    for cls in classes:
        assert cls.transient == (cls.retry_after is not None), cls
        if cls.transient:
            assert cls.status_code in (502, 503), cls
        else:
            assert cls.status_code != 503, cls
    transient = sorted(code for code, entry in ERRCODES.items() if entry.error.transient)
    assert transient == [-1, 45009, 45011, 45033]


def test_only_the_channel_family_is_424_and_nothing_is_500() -> None:
    for errcode, entry in ERRCODES.items():
        assert (entry.error.status_code == 424) == issubclass(entry.error, ChannelMisconfigured), errcode
        assert entry.error.status_code < 500 or entry.error.transient, errcode
        assert entry.meaning and entry.platform in ("both", "wecom", "mp", "wecom-contact"), errcode


def test_an_unregistered_errcode_is_the_generic_platform_error() -> None:
    exc = platform_error(99999, "something new")
    assert type(exc) is PlatformError and exc.status_code == 502 and exc.code == "platform_error"
    assert exc.message == "errcode 99999: something new" and not exc.transient


def test_docs_errors_md_is_the_registry() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    assert markdown() in text, (
        "regenerate the table: python -c 'from gateway.wechat.errcodes import markdown; print(markdown())'"
    )
