"""The checks a verified callback passes: field types and lengths (xmlmsg) and the replay window (crypto)."""

from __future__ import annotations

import pytest

from gateway.errors import XmlParseError
from gateway.wechat.crypto import StaleCallback, check_timestamp
from gateway.wechat.xmlmsg import MalformedCallback, check_fields, digits, epoch, ident, number, parse_verified, text

SPEC = {"Id": ident(8), "Many": ident(4, repeat=True), "N": digits(3), "T": epoch, "X": number(-90, 90), "C": text}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"Id": "ab-_@+/=", "Many": ["a", "bcd"], "N": " 123 ", "T": "1767225600", "X": "-89.5", "C": "任何 <text>"},
        {"Id": "", "X": "90", "T": "0"},
        {"Other": {"nested": ["kept", "as is"]}},
    ],
)
def test_documents_that_pass(fields: dict) -> None:
    assert check_fields(fields, SPEC) is fields


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"Id": "123456789"}, "<Id> is 9 characters long; at most 8"),
        ({"Id": "a b"}, "<Id> holds characters"),
        ({"Id": "é"}, "<Id> holds characters"),
        ({"Id": {"a": "b"}}, "<Id> holds nested elements"),
        ({"Id": ["a", "b"]}, "<Id> holds repeated"),
        ({"Many": ["a", "toolong"]}, "<Many> is 7"),
        ({"Many": ["a", {"x": "y"}]}, "<Many> holds nested"),
        ({"N": "1234"}, "<N>"),
        ({"N": "²"}, "<N>"),
        ({"N": "-1"}, "<N>"),
        ({"T": "99999999999"}, "<T>"),
        ({"T": "9" * 40}, "<T>"),
        ({"X": "NaN"}, "<X>"),
        ({"X": "inf"}, "<X>"),
        ({"X": "1e1"}, "<X>"),
        ({"X": "90.0001"}, "<X>"),
        ({"C": ["a", "b"]}, "<C> holds repeated"),
    ],
)
def test_documents_that_fail(fields: dict, reason: str) -> None:
    with pytest.raises(MalformedCallback, match=reason) as caught:
        check_fields(fields, SPEC, payload="<xml/>")
    assert caught.value.payload == "<xml/>"
    assert isinstance(caught.value, XmlParseError)  # to anything else, still -40002


def test_required_fields() -> None:
    with pytest.raises(MalformedCallback, match="<T> is missing"):
        check_fields({"Id": "a"}, SPEC, required=("Id", "T"))


def test_a_verified_plaintext_that_is_no_xml_carries_itself() -> None:
    with pytest.raises(MalformedCallback) as caught:
        parse_verified("not xml")
    assert caught.value.payload == "not xml"


@pytest.mark.parametrize("offset", [0, -300, 300, -0.5])
def test_inside_the_window(offset: float) -> None:
    check_timestamp(str(int(1_767_225_600 + offset)), now=1_767_225_600, max_age=300)


@pytest.mark.parametrize("timestamp", ["1767225299", "1767225901", "1", "99999999999", "", "abc", "²", "-5", "1.5"])
def test_outside_the_window_or_no_timestamp(timestamp: str) -> None:
    with pytest.raises(StaleCallback) as caught:
        check_timestamp(timestamp, now=1_767_225_600, max_age=300)
    assert (caught.value.status_code, caught.value.code) == (400, "callback_stale")


def test_a_window_of_zero_checks_nothing() -> None:
    check_timestamp("1", now=1_767_225_600, max_age=0)
