"""Safe, size-bounded parsing and building of the flat XML documents WeChat callbacks use.

Parsing goes through defusedxml with DTDs, entities and external references forbidden, so an
entity-expansion ("billion laughs") or XXE body is refused before it costs anything. A document
whose signature held is then checked field by field (`check_fields` with the per-platform specs of
the normalizers): a field the gateway reads must have its documented type and length, or the
whole callback is a MalformedCallback (docs/security.md, "Callbacks: what is checked").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gateway.errors import XmlParseError

MAX_XML_BYTES = 256 * 1024  # real callbacks are a few KiB; anything near this is hostile
MAX_XML_DEPTH = 32  # callbacks nest 3 levels (Articles/item/Title); deeper would exhaust the stack

XmlValue = str | dict[str, "XmlValue"] | list["XmlValue"]
_IDENT_RE = re.compile(r"[\x21-\x7e]*")
_DIGITS_RE = re.compile(r"[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})")


def parse_xml(body: bytes | str, *, max_bytes: int = MAX_XML_BYTES) -> dict[str, Any]:
    """Parse `<xml>…</xml>` into a dict of child tag → text (nested elements → dicts).

    Repeated tags become lists. Raises XmlParseError (-40002) on oversize, malformed, DTD or
    entity-bearing input.
    """
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > max_bytes:
        raise XmlParseError(f"XML body of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    if not raw.strip():
        raise XmlParseError("empty XML body")
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlParseError(f"XML refused: {type(exc).__name__}") from None
    except (ParseError, ValueError, UnicodeError) as exc:
        raise XmlParseError(f"malformed XML: {exc}") from None
    return _element_to_dict(root, MAX_XML_DEPTH)


def _element_to_dict(element: Element, depth: int) -> dict[str, Any]:
    if depth <= 0:
        raise XmlParseError(f"XML nested deeper than {MAX_XML_DEPTH} levels")
    result: dict[str, Any] = {}
    for child in element:
        value: Any = _element_to_dict(child, depth - 1) if len(child) else (child.text or "")
        if child.tag in result:
            existing = result[child.tag]
            if not isinstance(existing, list):
                result[child.tag] = existing = [existing]
            existing.append(value)
        else:
            result[child.tag] = value
    return result


def build_xml(fields: Mapping[str, Any], *, root: str = "xml") -> str:
    """Build a callback-style document: strings in CDATA, numbers bare, dicts nested."""
    return f"<{root}>{_fields_to_xml(fields)}</{root}>"


def _fields_to_xml(fields: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for tag, value in fields.items():
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Mapping):
                parts.append(f"<{tag}>{_fields_to_xml(item)}</{tag}>")
            elif isinstance(item, bool):
                parts.append(f"<{tag}>{int(item)}</{tag}>")
            elif isinstance(item, int | float):
                parts.append(f"<{tag}>{item}</{tag}>")
            else:
                parts.append(f"<{tag}>{_cdata(str(item))}</{tag}>")
    return "".join(parts)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section; split it across two.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


# --------------------------------------------------------------------------- verified documents


class MalformedCallback(XmlParseError):
    """A callback whose signature held but whose document breaks the platform's documented types or
    lengths. It is not the sender's mistake to retry: the HTTP layer answers it as the platform's
    success, keeps it as a rejected inbound event (`payload`, when known, is the verified plaintext)
    and never lets it reach the tables."""

    def __init__(self, reason: str, *, payload: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.payload = payload


FieldCheck = Callable[[str, Any], None]  # (tag, parsed value) → None, or MalformedCallback


def parse_verified(payload: str) -> dict[str, Any]:
    """parse_xml for a plaintext whose signature already held: a failure is a MalformedCallback."""
    try:
        return parse_xml(payload)
    except XmlParseError as exc:
        raise MalformedCallback(exc.message, payload=payload) from None


def check_fields(
    fields: dict[str, Any],
    spec: Mapping[str, FieldCheck],
    *,
    required: tuple[str, ...] = (),
    payload: str | None = None,
) -> dict[str, Any]:
    """Check the fields a gateway reads against `spec`; other fields pass untouched (they are only kept raw)."""
    try:
        for tag in required:
            if tag not in fields:
                raise MalformedCallback(f"<{tag}> is missing")
        for tag, check in spec.items():
            if tag in fields:
                check(tag, fields[tag])
    except MalformedCallback as exc:
        raise MalformedCallback(exc.reason, payload=payload) from None
    return fields


def _scalar(tag: str, value: Any) -> str:
    if not isinstance(value, str):
        shape = "repeated" if isinstance(value, list) else "nested elements"
        raise MalformedCallback(f"<{tag}> holds {shape}, not text")
    return value


def ident(max_bytes: int, *, repeat: bool = False) -> FieldCheck:
    """An identifier: visible ASCII only, at most `max_bytes` (may repeat when `repeat`)."""

    def check(tag: str, value: Any) -> None:
        for item in value if repeat and isinstance(value, list) else [value]:
            text = _scalar(tag, item)
            if len(text) > max_bytes:
                raise MalformedCallback(f"<{tag}> is {len(text)} characters long; at most {max_bytes}")
            if not _IDENT_RE.fullmatch(text):
                raise MalformedCallback(f"<{tag}> holds characters an identifier never has")

    return check


def text(tag: str, value: Any) -> None:
    """Free text of any length (bounded by the document size)."""
    _scalar(tag, value)


def digits(max_digits: int) -> FieldCheck:
    """A non-negative integer written in ASCII digits (surrounding whitespace allowed)."""

    def check(tag: str, value: Any) -> None:
        raw = _scalar(tag, value).strip()
        if not _DIGITS_RE.fullmatch(raw) or len(raw) > max_digits:
            raise MalformedCallback(f"<{tag}> is not an integer of at most {max_digits} digits")

    return check


def epoch(tag: str, value: Any) -> None:
    """Epoch seconds (at most 10 digits: a date before the year 2287)."""
    digits(10)(tag, value)


def number(low: float = -math.inf, high: float = math.inf) -> FieldCheck:
    """A finite decimal number in [low, high] (JSON has no NaN or infinity; PostgreSQL refuses them)."""

    def check(tag: str, value: Any) -> None:
        raw = _scalar(tag, value).strip()
        if not _DECIMAL_RE.fullmatch(raw) or not low <= float(raw) <= high:
            raise MalformedCallback(f"<{tag}> is not a number between {low} and {high}")

    return check
