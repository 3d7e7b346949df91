"""Safe, size-bounded parsing and building of the flat XML documents WeChat callbacks use.

Parsing goes through defusedxml with DTDs, entities and external references forbidden, so an
entity-expansion ("billion laughs") or XXE body is refused before it costs anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gateway.errors import XmlParseError

MAX_XML_BYTES = 256 * 1024  # real callbacks are a few KiB; anything near this is hostile
MAX_XML_DEPTH = 32  # callbacks nest 3 levels (Articles/item/Title); deeper would exhaust the stack

XmlValue = str | dict[str, "XmlValue"] | list["XmlValue"]


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
