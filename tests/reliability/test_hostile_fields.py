"""Validly signed callbacks with hostile fields (issue: a nested <Content> or a CreateTime of "²" was a 500).

A verified callback whose document breaks the platform's documented types or lengths is answered
"success" (the platform stops retrying), kept as one rejected inbound event with its reason, counted,
and writes nothing else; the same push again adds nothing. Each case the issue names is a test of its
own; hypothesis then breaks one field at a time, on the three kinds of signed callback. The widest
legal values and free text of any length are stored in full on both databases.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.db.models import Agent, InboundEvent, Message, SyncCursor
from tests.reliability.conftest import Rig, table_counts
from tests.reliability.forge import Targets, counted, rejected, targets

FUZZ = settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))


@pytest.fixture
async def t(rig: Rig) -> Targets:
    return await targets(rig.h)


async def assert_rejected(rig: Rig, t: Targets, target: str, document: Any, reason: str) -> None:
    """Pushed twice: "success" both times, one rejected row (with `reason` in it), nothing else written."""
    push = t.push(target, document)
    before = await table_counts(rig.db)
    kept = len(await rejected(rig.db))
    assert await push.send(rig.h) == (200, "success")
    assert await push.send(rig.h) == (200, "success")  # the platform's retry: nothing more
    after = await table_counts(rig.db)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"inbound_events": 1}
    rows = await rejected(rig.db)
    assert len(rows) == kept + 1
    row = rows[-1]
    assert (row.channel_id, row.payload, row.processed_at) == (push.channel_id, push.plaintext, None)
    assert reason in (row.error or ""), row.error
    assert counted(rig.h, push.channel_id, "rejected") >= 2


# ------------------------------------------------------------------ the cases of the issue


async def test_the_reproduction_a_nested_content_on_a_plain_mp_channel(rig: Rig, t: Targets) -> None:
    document = (
        f"<xml><ToUserName>gh_oa</ToUserName><FromUserName>{t.openid}</FromUserName><CreateTime>1767225600"
        "</CreateTime><MsgType>text</MsgType><Content><a>x</a></Content><MsgId>42</MsgId></xml>"
    )
    await assert_rejected(rig, t, "mp_plain", document, "<Content> holds nested elements")


@pytest.mark.parametrize("target", ["mp_plain", "mp_safe"])
async def test_repeated_content(rig: Rig, t: Targets, target: str) -> None:
    await assert_rejected(rig, t, target, t.document(target, Content=["a", "b"]), "<Content> holds repeated")


@pytest.mark.parametrize("created", ["²", "999999999999999", "9" * 40, "-1", "1.5", ""])
@pytest.mark.parametrize("target", ["mp_plain", "mp_safe", "wecom"])
async def test_create_times_that_are_no_epoch_seconds(rig: Rig, t: Targets, target: str, created: str) -> None:
    await assert_rejected(rig, t, target, t.document(target, CreateTime=created), "<CreateTime>")


async def test_a_200_character_from_user_name(rig: Rig, t: Targets) -> None:
    await assert_rejected(rig, t, "mp_plain", t.document("mp_plain", FromUserName="o" * 200), "<FromUserName>")


async def test_a_3000_character_kf_account(rig: Rig, t: Targets) -> None:
    document = t.document(
        "mp_safe", MsgType="event", Event="kf_create_session", KfAccount="k" * 3000, Content=None, MsgId=None
    )
    await assert_rejected(rig, t, "mp_safe", document, "<KfAccount>")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"OpenKfId": "wk" + "A" * 198}, "<OpenKfId>"),
        ({"Token": "ENC" + "x" * 997}, "<Token>"),
        ({"OpenKfId": {"a": "wk1"}}, "<OpenKfId> holds nested"),
        ({"OpenKfId": ["wk1", "wk2"]}, "<OpenKfId> holds repeated"),
        ({"MsgType": {"x": "event"}}, "<MsgType>"),
        ({"OpenKfId": "wk 1"}, "<OpenKfId> holds characters"),
        ({"Event": "kf_msg_or_event" * 10}, "<Event>"),
    ],
)
async def test_wecom_ids_beyond_their_documented_bounds(rig: Rig, t: Targets, fields: dict, reason: str) -> None:
    await assert_rejected(rig, t, "wecom", t.document("wecom", **fields), reason)
    async with rig.db.sessions() as session:
        assert list(await session.scalars(select(SyncCursor))) == []  # no stream either


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"MsgType": "location", "Location_X": "NaN", "Location_Y": "1"}, "<Location_X>"),
        ({"MsgType": "location", "Location_X": "1", "Location_Y": "1e999"}, "<Location_Y>"),
        ({"MsgType": "location", "Location_X": "91", "Location_Y": "1"}, "<Location_X>"),
        ({"MsgType": "file", "FileTotalLen": "9" * 400}, "<FileTotalLen>"),
        ({"MsgId": "12a"}, "<MsgId>"),
        ({"MsgType": "image", "MediaId": "m" * 300}, "<MediaId>"),
        ({"MsgType": "event", "Event": "LOCATION", "Latitude": "inf"}, "<Latitude>"),
        ({"FromUserName": "o\u00e9"}, "<FromUserName> holds characters"),
        ({"FromUserName": None}, "<FromUserName> is missing"),
        ({"FromUserName": ""}, "empty FromUserName"),
    ],
)
async def test_mp_fields_of_the_wrong_type(rig: Rig, t: Targets, fields: dict, reason: str) -> None:
    await assert_rejected(rig, t, "mp_plain", t.document("mp_plain", **fields), reason)


@pytest.mark.parametrize("target", ["mp_safe", "wecom"])
@pytest.mark.parametrize(
    "plaintext",
    [
        "hello, not XML",
        "<xml><MsgType>event<",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><xml><MsgType>&e;</MsgType></xml>',
        "<xml>" + "<a>" * 40 + "</a>" * 40 + "</xml>",
    ],
)
async def test_a_signed_plaintext_that_is_no_usable_xml(rig: Rig, t: Targets, target: str, plaintext: str) -> None:
    await assert_rejected(rig, t, target, plaintext, "")


async def test_a_plaintext_with_nul_is_kept_without_it(rig: Rig, t: Targets) -> None:
    """PostgreSQL text cannot hold U+0000: the rejected record replaces it (both databases alike)."""
    push = t.push("wecom", "<xml>\x00</xml>")
    assert await push.send(rig.h) == (200, "success")
    (row,) = await rejected(rig.db)
    assert row.payload == "<xml>\ufffd</xml>"


# ------------------------------------------------------------------ what is legal is stored in full


async def test_the_widest_legal_ids_fit_their_columns_on_both_databases(rig: Rig, t: Targets) -> None:
    openid = "o" + "W" * 63  # FromUserName at its bound (64)
    event = "e" * 48  # an event name at its bound: "openid:CreateTime:event" is 124 characters
    kf = "k" * 64 + "@" + "w" * 63  # a kf_account at its bound (128)
    pushes = [
        t.push("mp_plain", t.document("mp_plain", FromUserName=openid, MsgType="event", Event=event, MsgId=None)),
        t.push(
            "mp_plain",
            t.document(
                "mp_plain",
                FromUserName=openid,
                MsgType="event",
                Event="kf_create_session",
                KfAccount=kf,
                CreateTime=1767225601,
                MsgId=None,
            ),
        ),
        t.push("mp_plain", t.document("mp_plain", FromUserName=openid, MsgType="image", MediaId="m" * 256)),
    ]
    for push in pushes:
        assert await push.send(rig.h) == (200, "success")
    assert await rejected(rig.db) == []
    async with rig.db.sessions() as session:
        sources = set(await session.scalars(select(Message.source_id)))
        assert f"{openid}:{pushes[0].plaintext.split('<CreateTime>')[1][:10]}:{event}" in sources
        assert kf in set(await session.scalars(select(Agent.source_id)))


async def test_long_free_text_is_stored_in_full(rig: Rig, t: Targets) -> None:
    content = "长" * 60_000 + "]]>" + "x" * 1000
    key = "K" * 3000
    pushes = [
        t.push("mp_plain", t.document("mp_plain", Content=content)),
        t.push("mp_safe", t.document("mp_safe", MsgType="event", Event="CLICK", EventKey=key, MsgId=None)),
    ]
    for push in pushes:
        assert await push.send(rig.h) == (200, "success")
    async with rig.db.sessions() as session:
        messages = list(await session.scalars(select(Message).order_by(Message.id)))
    assert messages[0].content == content
    assert messages[1].content_attributes["event_key"] == key


# ------------------------------------------------------------------ property-based

MP_IDS = {"ToUserName": 64, "FromUserName": 64, "MsgType": 32, "Event": 48, "MediaId": 256, "KfAccount": 128}
MP_DIGITS = {"MsgId": 20, "FileTotalLen": 20, "CreateTime": 10}
MP_NUMBERS = {"Location_X": 90, "Location_Y": 180, "Latitude": 90, "Longitude": 180, "Scale": None}
MP_TEXT = ["Content", "EventKey", "Label", "Title", "Url", "Recognition", "PicUrl", "Ticket"]
WECOM_IDS = {"ToUserName": 64, "MsgType": 32, "Event": 48, "Token": 128, "OpenKfId": 64, "AuthAddOpenKfId": 64}
WECOM_DIGITS = {"CreateTime": 10}
xml_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFFFD, blacklist_categories=("Cs",)), max_size=40)


def shapes() -> st.SearchStrategy[Any]:
    """Nested or repeated elements where text belongs."""
    return st.one_of(
        st.dictionaries(st.sampled_from(["a", "b", "Content", "item"]), xml_text, min_size=1, max_size=3),
        st.lists(xml_text, min_size=2, max_size=4),
    )


def bad_ids(bound: int) -> st.SearchStrategy[str]:
    too_long = st.text(VISIBLE, min_size=bound + 1, max_size=bound + 3000)
    odd = st.tuples(
        st.text(VISIBLE, max_size=10), st.sampled_from(" \t\n\u00a0é长\u200b"), st.text(VISIBLE, max_size=10)
    )
    return st.one_of(too_long, odd.map("".join))


def bad_digits(bound: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(string.digits, min_size=bound + 1, max_size=bound + 60),
        st.sampled_from(["²", "١٢٣", "１２３", "-1", "1.5", "", "0x10", "1e3", "NaN"]),
        st.text(string.ascii_letters, min_size=1, max_size=10),
    )


def bad_numbers(bound: int | None) -> st.SearchStrategy[str]:
    words = st.sampled_from(["NaN", "nan", "inf", "-Infinity", "1e999", "", "--1", "1,5", "0x1p3", "١"])
    if bound is None:
        return words
    beyond = st.floats(min_value=bound + 0.001, max_value=1e12).map(lambda v: f"{v:.4f}")
    return st.one_of(words, beyond, beyond.map(lambda v: "-" + v))


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(target, field, hostile value): one field of a valid document broken."""
    target = draw(st.sampled_from(["mp_plain", "mp_safe", "wecom"]))
    if target == "wecom":
        ids, numbers, text, digit_fields = WECOM_IDS, {}, [], WECOM_DIGITS
    else:
        ids, numbers, text, digit_fields = MP_IDS, MP_NUMBERS, MP_TEXT, MP_DIGITS
    field = draw(st.sampled_from(sorted([*ids, *numbers, *text, *digit_fields])))
    if field in text or draw(st.integers(0, 3)) == 0:
        value = draw(shapes())
    elif field in ids:
        value = draw(bad_ids(ids[field]))
    elif field in digit_fields:
        value = draw(bad_digits(digit_fields[field]))
    else:
        value = draw(bad_numbers(numbers[field]))
    event(f"{target}: {field}")
    return target, field, value


@given(case=hostile())
@FUZZ
async def test_hostile_fields_are_kept_as_rejected_and_write_nothing_else(rig: Rig, t: Targets, case) -> None:
    target, field, value = case
    push = t.push(target, t.document(target, **{field: value}))
    before = await table_counts(rig.db)
    status, text = await push.send(rig.h)
    assert (status, text) == (200, "success"), (field, value, text)
    after = await table_counts(rig.db)
    grown = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert grown in ({"inbound_events": 1}, {}), grown  # {}: the same hostile push was drawn before
    async with rig.db.sessions() as session:
        row = await session.scalar(
            select(InboundEvent).where(
                InboundEvent.channel_id == push.channel_id, InboundEvent.payload == push.plaintext
            )
        )
    assert row is not None and row.kind == "rejected" and f"<{field}>" in (row.error or ""), (field, value)


@given(
    content=st.text(
        st.characters(
            min_codepoint=0x20,
            max_codepoint=0x10FFFF,
            blacklist_categories=("Cs",),
            blacklist_characters="\ufffe\uffff",
        ),
        min_size=1,
        max_size=20_000,
    )
)
@settings(FUZZ, max_examples=25)
async def test_any_text_content_is_stored_as_sent(rig: Rig, t: Targets, content: str) -> None:
    push = t.push("mp_safe", t.document("mp_safe", Content=content))
    assert await push.send(rig.h) == (200, "success")
    async with rig.db.sessions() as session:
        stored = await session.scalar(select(Message.content).order_by(Message.id.desc()).limit(1))
    assert stored == content
