"""What a reply of each type must carry, per platform: checked before a reply is accepted.

Each adapter declares `send_specs` (content type → `TypeSpec`); `validate` checks a flat body
(the REST fields beside `content_type`, named as the platform names them) against the spec of the
channel's platform and answers InvalidRequest (422) naming the field, so a reply the platform
would refuse for its shape is never queued. The adapters' payload builders then only map names.

Limits are the platforms' documented ones (docs/platforms.md §2.5 for WeCom send_msg, §4.2 for
MP custom/send); lengths counted in UTF-8 bytes where the platform counts bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import InvalidRequest, UnsupportedByChannel

Check = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Field:
    """One type-specific field: required or not, and its bounds."""

    name: str
    required: bool = False
    max_bytes: int | None = None  # strings: UTF-8 length
    kind: str = "str"  # str | number | list
    bounds: tuple[float, float] | None = None  # numbers: inclusive range
    url: bool = False  # strings: must start with http:// or https://


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A sendable type: its fields and any rule that spans fields (counts, alternatives)."""

    fields: tuple[Field, ...]
    checks: tuple[Check, ...] = field(default=())
    platform_name: str = ""  # the platform's msgtype, when it differs from ours

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


def req(name: str, **bounds: Any) -> Field:
    return Field(name, required=True, **bounds)


def opt(name: str, **bounds: Any) -> Field:
    return Field(name, **bounds)


# fields every type accepts (not sent to the platform as such)
COMMON = frozenset({"content_type", "agent_id"})


def validate(specs: Mapping[str, TypeSpec], platform: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The type-specific fields of `body` (None and COMMON dropped), checked against `specs`.

    Raises UnsupportedByChannel for a type the platform cannot send and InvalidRequest (with
    `field`) for a missing, misplaced or out-of-bounds field."""
    content_type = body.get("content_type") or "text"
    spec = specs.get(content_type)
    if spec is None:
        raise UnsupportedByChannel(
            f"{platform} cannot send {content_type!r} (it sends: {', '.join(sorted(specs))})", field="content_type"
        )
    given = {k: v for k, v in body.items() if v is not None and k not in COMMON}
    stray = sorted(set(given) - spec.names)
    if stray:
        takes = ", ".join(sorted(spec.names))
        raise InvalidRequest(
            f"{content_type!r} on {platform} does not take {', '.join(stray)} (it takes: {takes})", field=stray[0]
        )
    for f in spec.fields:
        value = given.get(f.name)
        if value is None or value == "":
            if f.required:
                raise InvalidRequest(f"{content_type!r} needs {f.name}", field=f.name)
            given.pop(f.name, None)
            continue
        _check_field(content_type, f, value)
    for check in spec.checks:
        check(given)
    return given


def _check_field(content_type: str, f: Field, value: Any) -> None:
    if f.kind == "str":
        if not isinstance(value, str):
            raise InvalidRequest(f"{f.name} must be a string", field=f.name)
        if f.max_bytes is not None and len(value.encode()) > f.max_bytes:
            raise InvalidRequest(f"{f.name} is longer than {f.max_bytes} bytes (UTF-8)", field=f.name)
        if f.url and not value.lower().startswith(("http://", "https://")):
            raise InvalidRequest(f"{f.name} must be an http(s) URL", field=f.name)
    elif f.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidRequest(f"{f.name} must be a number", field=f.name)
        if f.bounds is not None and not f.bounds[0] <= value <= f.bounds[1]:
            raise InvalidRequest(f"{f.name} must be between {f.bounds[0]:g} and {f.bounds[1]:g}", field=f.name)
    elif f.kind == "list" and not isinstance(value, list):
        raise InvalidRequest(f"{f.name} must be a list", field=f.name)


def text_of(item: Mapping[str, Any], name: str, where: str, *, max_bytes: int, required: bool = True) -> None:
    """A string field inside a list item (menu items, news articles)."""
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"{where} needs {name}", field=where)
        return
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{name} must be a string", field=where)
    if len(value.encode()) > max_bytes:
        raise InvalidRequest(f"{where}.{name} is longer than {max_bytes} bytes (UTF-8)", field=where)


def items_between(name: str, low: int, high: int) -> Check:
    """`name` (a list) holds low..high entries, each an object."""

    def check(given: dict[str, Any]) -> None:
        items = given.get(name) or []
        if not low <= len(items) <= high:
            raise InvalidRequest(f"{name} takes {low} to {high} entries (got {len(items)})", field=name)
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidRequest(f"{name}[{n}] must be an object", field=f"{name}[{n}]")

    return check
