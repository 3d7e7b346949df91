"""Callback XML: parsing (nested, repeated, hostile) and building (CDATA, "]]>")."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import CallbackError, XmlParseError
from gateway.wechat.xmlmsg import MAX_XML_BYTES, MAX_XML_DEPTH, build_xml, parse_xml

DATA = Path(__file__).parent.parent / "data"


def assert_xml_error(body: str | bytes, **kwargs: int) -> XmlParseError:
    with pytest.raises(CallbackError) as info:
        parse_xml(body, **kwargs)
    assert type(info.value) is XmlParseError
    assert info.value.sdk_code == -40002
    return info.value


# ---------------------------------------------------------------- parsing


def test_parse_mp_link_sample() -> None:
    body = (DATA / "mp_kefu" / "callback_msg_link.xml").read_bytes()
    assert parse_xml(body) == {
        "ToUserName": "toUser",
        "FromUserName": "fromUser",
        "CreateTime": "1351776360",
        "MsgType": "link",
        "Title": "公众平台官网链接",
        "Description": "公众平台官网链接",
        "Url": "url",
        "MsgId": "1234567890123456",
    }


def test_parse_mp_switch_session_sample_from_str_and_bytes() -> None:
    text = (DATA / "mp_kefu" / "callback_event_kf_switch_session.xml").read_text("utf-8")
    fields = parse_xml(text)
    assert fields == parse_xml(text.encode())
    assert fields["Event"] == "kf_switch_session"
    assert (fields["FromKfAccount"], fields["ToKfAccount"]) == ("test1@test", "test2@test")


def test_parse_nested_and_repeated_tags() -> None:
    body = """<xml>
        <MsgType><![CDATA[news]]></MsgType>
        <ArticleCount>2</ArticleCount>
        <Articles>
            <item><Title><![CDATA[一]]></Title><Url><![CDATA[https://a.example/?x=1&y=2]]></Url></item>
            <item><Title><![CDATA[二]]></Title><Meta><Author>me</Author></Meta></item>
        </Articles>
        <Tag>a</Tag><Tag>b</Tag><Other>o</Other><Tag>c</Tag>
    </xml>"""
    assert parse_xml(body) == {
        "MsgType": "news",
        "ArticleCount": "2",
        "Articles": {
            "item": [
                {"Title": "一", "Url": "https://a.example/?x=1&y=2"},
                {"Title": "二", "Meta": {"Author": "me"}},
            ]
        },
        "Tag": ["a", "b", "c"],
        "Other": "o",
    }


def test_parse_text_details() -> None:
    body = (
        "<xml><Empty/><Blank></Blank><Escaped>a &lt; b &amp;&amp; c &gt; d</Escaped>"
        "<Cdata><![CDATA[<b>not a tag</b> &amp;]]></Cdata><Spaces>  padded  </Spaces>"
        '<Attr id="1">value</Attr><!-- comment --><Num>007</Num></xml>'
    )
    assert parse_xml(body) == {
        "Empty": "",
        "Blank": "",
        "Escaped": "a < b && c > d",
        "Cdata": "<b>not a tag</b> &amp;",
        "Spaces": "  padded  ",
        "Attr": "value",
        "Num": "007",
    }


def test_parse_accepts_a_utf8_declaration() -> None:
    assert parse_xml('<?xml version="1.0" encoding="UTF-8"?><xml><A>中文</A></xml>'.encode()) == {"A": "中文"}


# ---------------------------------------------------------------- refusing bad input


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("", id="empty"),
        pytest.param(b"  \n\t", id="whitespace"),
        pytest.param("<xml><A>1</B></xml>", id="mismatched"),
        pytest.param("<xml><A>1</A>", id="unclosed"),
        pytest.param("<xml></xml><xml></xml>", id="two-roots"),
        pytest.param("plain text", id="not-xml"),
        pytest.param("<xml><A>&undefined;</A></xml>", id="undefined-entity"),
        pytest.param(b"<xml><A>\xff</A></xml>", id="bad-utf8"),
        pytest.param("<xml><A>\x00</A></xml>", id="nul-char"),
    ],
)
def test_malformed_xml(body: str | bytes) -> None:
    assert_xml_error(body)


def _document_of(size: int) -> bytes:
    head, tail = b"<xml><A>", b"</A></xml>"
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_size_limit_is_inclusive() -> None:
    assert parse_xml(_document_of(MAX_XML_BYTES))["A"] == "x" * (MAX_XML_BYTES - 18)
    error = assert_xml_error(_document_of(MAX_XML_BYTES + 1))
    assert str(MAX_XML_BYTES) in error.message


def test_size_limit_counts_utf8_bytes_not_characters() -> None:
    text = "<xml><A>" + "中" * (MAX_XML_BYTES // 3) + "</A></xml>"
    assert len(text) < MAX_XML_BYTES < len(text.encode())
    assert_xml_error(text)


def test_size_limit_is_a_parameter() -> None:
    assert parse_xml(_document_of(100), max_bytes=100)
    assert_xml_error(_document_of(101), max_bytes=100)


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        reference = f"&lol{i - 1};"
        entities.append(f'<!ENTITY lol{i} "{reference * 10}">')
    assert_xml_error(f'<?xml version="1.0"?><!DOCTYPE xml [{"".join(entities)}]><xml><A>&lol9;</A></xml>')


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><A>&xxe;</A></xml>',
            id="external-entity",
        ),
        pytest.param(
            '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml><A>1</A></xml>',
            id="external-parameter-entity",
        ),
        pytest.param('<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml><A>1</A></xml>', id="external-dtd"),
        # Harmless to a plain parser (which would return {"A": "x"}), refused because any DTD is.
        pytest.param('<!DOCTYPE xml [<!ENTITY e "x">]><xml><A>&e;</A></xml>', id="internal-entity"),
        pytest.param("<!DOCTYPE xml><xml><A>1</A></xml>", id="bare-doctype"),
    ],
)
def test_dtds_and_entities_are_refused(body: str) -> None:
    error = assert_xml_error(body)
    assert "passwd" not in error.message and "root:" not in error.message


def _nested(levels: int) -> str:
    """`levels` elements that have children, the root included, around one leaf."""
    return "<xml>" + "<a>" * levels + "x" + "</a>" * levels + "</xml>"


def test_nesting_up_to_the_depth_limit_parses() -> None:
    fields = parse_xml(_nested(MAX_XML_DEPTH))
    for _ in range(MAX_XML_DEPTH - 1):
        fields = fields["a"]
    assert fields == {"a": "x"}


def test_deep_nesting_is_a_parse_error_not_a_recursion_error() -> None:
    assert_xml_error(_nested(MAX_XML_DEPTH + 1))
    assert_xml_error(_nested(30_000))  # ~210 KiB, under the size limit


# ---------------------------------------------------------------- building


def test_build_xml_shapes() -> None:
    xml = build_xml(
        {
            "ToUserName": "user",
            "CreateTime": 1409659813,
            "Score": 1.5,
            "Flag": True,
            "Off": False,
            "Skipped": None,
            "Articles": {"item": [{"Title": "a"}, {"Title": "b"}]},
            "Tag": ["x", "y"],
        }
    )
    assert xml == (
        "<xml><ToUserName><![CDATA[user]]></ToUserName><CreateTime>1409659813</CreateTime>"
        "<Score>1.5</Score><Flag>1</Flag><Off>0</Off>"
        "<Articles><item><Title><![CDATA[a]]></Title></item><item><Title><![CDATA[b]]></Title></item>"
        "</Articles><Tag><![CDATA[x]]></Tag><Tag><![CDATA[y]]></Tag></xml>"
    )


def test_build_xml_custom_root() -> None:
    assert build_xml({"A": "1"}, root="root") == "<root><A><![CDATA[1]]></A></root>"


@pytest.mark.parametrize(
    "value",
    [
        "]]>",
        "a]]>b",
        "]]>]]>",
        "]]]]>>",
        "]]",
        "]>",
        "x]]",
        "<![CDATA[inner]]>",
        "&amp; <tag> ' \"",
        "中文]]>",
    ],
)
def test_cdata_terminator_round_trips(value: str) -> None:
    xml = build_xml({"Content": value, "After": "tail"})
    assert parse_xml(xml) == {"Content": value, "After": "tail"}


def test_carriage_returns_are_normalized_by_xml() -> None:
    # XML parsers turn "\r\n" and "\r" into "\n" (XML 1.0 §2.11), CDATA included.
    assert parse_xml(build_xml({"A": "a\r\nb\rc"})) == {"A": "a\nb\nc"}


TAGS = st.sampled_from(["ToUserName", "Content", "MsgId", "item", "Title", "a_b", "x1"])
# Characters XML 1.0 carries unchanged ("\r" is normalized, other controls are not allowed).
TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc"),
        include_characters="\t\n",
        exclude_characters="\ufffe\uffff",
    )
)
VALUES = st.one_of(
    TEXT,
    st.lists(TEXT, min_size=2, max_size=4),  # one-element lists parse back as a scalar
    st.dictionaries(TAGS, TEXT, min_size=1, max_size=4),  # an empty element parses back as ""
)


@given(st.dictionaries(TAGS, VALUES, max_size=6))
def test_build_parse_round_trip(fields: dict) -> None:
    assert parse_xml(build_xml(fields)) == fields
