"""Policy answers match the platforms' rules (the simulator agrees: see tests/channels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.db.models import Conversation
from gateway.outbound.policy import can_reply, reason_for, record_reply
from gateway.wechat.errcodes import platform_error

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def conv(**kw) -> Conversation:
    base = {
        "status": "pending",
        "platform_state": "0",
        "last_incoming_at": T0,
        "replies_since_incoming": 0,
        "last_event_at": None,
        "replies_since_event": 0,
    }
    return Conversation(**{**base, **kw})


@pytest.mark.parametrize(
    ("kind", "fields", "at", "allowed", "reason"),
    [
        ("wecom", {}, T0 + 47 * H + 59 * M, True, None),
        ("wecom", {}, T0 + 48 * H + M, False, "window_closed"),
        ("wecom", {"last_incoming_at": None}, T0, False, "window_closed"),
        ("wecom", {"replies_since_incoming": 4}, T0 + H, True, None),
        ("wecom", {"replies_since_incoming": 5}, T0 + H, False, "quota_exhausted"),
        ("wecom", {"platform_state": "1"}, T0, True, None),
        ("wecom", {"platform_state": "2"}, T0, False, "state_forbids_api"),
        ("wecom", {"platform_state": "3"}, T0, False, "state_forbids_api"),
        ("wecom", {"platform_state": "4", "status": "resolved"}, T0, False, "state_forbids_api"),
        ("wecom", {"platform_state": None}, T0, True, None),
        ("mp", {"platform_state": None}, T0 + 47 * H + 59 * M, True, None),
        ("mp", {"platform_state": None}, T0 + 48 * H + M, False, "window_closed"),
        ("mp", {"replies_since_incoming": 5}, T0 + H, False, "quota_exhausted"),
        ("mp", {"last_incoming_at": None, "last_event_at": T0}, T0 + 59 * timedelta(seconds=1), True, None),
        ("mp", {"last_incoming_at": None, "last_event_at": T0}, T0 + 61 * timedelta(seconds=1), False, "window_closed"),
        (
            "mp",
            {"last_incoming_at": None, "last_event_at": T0, "replies_since_event": 3},
            T0 + 30 * timedelta(seconds=1),
            False,
            "quota_exhausted",
        ),
        ("mp", {"last_event_at": T0, "replies_since_event": 3}, T0 + 30 * timedelta(seconds=1), True, None),
        ("mp", {"status": "resolved"}, T0 + H, True, None),
    ],
)
def test_can_reply_table(kind, fields, at, allowed, reason) -> None:
    decision = can_reply(conv(**fields), kind, at)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_record_reply_spends_event_grant_first_then_messages() -> None:
    c = conv(platform_state=None, last_event_at=T0)
    spent = []
    for _ in range(9):
        decision = can_reply(c, "mp", T0 + 10 * timedelta(seconds=1))
        if not decision:
            spent.append(decision.reason)
            break
        spent.append(decision.grant)
        record_reply(c, "mp", T0 + 10 * timedelta(seconds=1))
    assert spent == ["event"] * 3 + ["message"] * 5 + ["quota_exhausted"]


def test_wecom_sixth_reply_refused() -> None:
    c = conv()
    for _ in range(5):
        assert can_reply(c, "wecom", T0 + H)
        record_reply(c, "wecom", T0 + H)
    assert can_reply(c, "wecom", T0 + H).reason == "quota_exhausted"


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (45015, "window_closed"),
        (95002, "window_closed"),
        (95031, "window_closed"),
        (45047, "quota_exhausted"),
        (95001, "quota_exhausted"),
        (95018, "state_forbids_api"),
        (40003, None),
    ],
)
def test_platform_refusals_map_to_policy_reasons(errcode, reason) -> None:
    assert reason_for(platform_error(errcode, "x")) == reason


def test_an_allowed_decision_says_when_the_window_closes_and_how_many_replies_are_left() -> None:
    now = datetime.now(UTC)
    wecom = Conversation(platform_state="1", status="open", last_incoming_at=now - timedelta(hours=1))
    wecom.replies_since_incoming = 2
    decision = can_reply(wecom, "wecom", now, pending=1)
    assert decision.replies_left == 2 and decision.window_closes_at == now + timedelta(hours=47)
    mp = Conversation(
        status="open", last_incoming_at=now - timedelta(hours=2), last_event_at=now - timedelta(seconds=30)
    )
    mp.replies_since_incoming = 1
    mp.replies_since_event = 0
    decision = can_reply(mp, "mp", now)
    assert decision.grant == "event" and decision.replies_left == 3 + 4
    assert decision.window_closes_at == now + timedelta(hours=46)
    mp.replies_since_event = 3  # the click's grant is spent: the message grant answers alone
    decision = can_reply(mp, "mp", now, pending=1)
    assert decision.grant == "message" and decision.replies_left == 3
    refused = can_reply(mp, "mp", now, pending=4)
    assert not refused and refused.replies_left is None and refused.window_closes_at is None


def test_a_closed_wecom_window_names_the_platforms_own_reason() -> None:
    """Both are `window_closed`, but the texts say which rule: never wrote (95031) or wrote too long
    ago (95002), as the platform would answer."""
    never = can_reply(conv(last_incoming_at=None), "wecom", T0)
    stale = can_reply(conv(), "wecom", T0 + 48 * H + M)
    assert (never.reason, stale.reason) == ("window_closed", "window_closed")
    assert "95031" in never.detail and "95002" not in never.detail
    assert "95002" in stale.detail and "95031" not in stale.detail
