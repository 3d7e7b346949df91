"""Request and response bodies of the inbox helpers: labels, private notes, canned responses, reopen.

Kept apart from gateway.api.schemas (the conversation model) to keep both small; the same rules
apply: request bodies forbid unknown fields, partial updates use `msgspec.UNSET` for "not given".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

LabelNames = Annotated[list[Annotated[str, Meta(max_length=256)]], Meta(min_length=1, max_length=50)]

# --------------------------------------------------------------------------- labels


class LabelCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: str  # 1–64 characters, unique ignoring case
    color: str = "#6b7280"  # #rrggbb
    description: Annotated[str, Meta(max_length=256)] = ""


class LabelPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=256)] | UnsetType = UNSET


class LabelOut(Struct, kw_only=True):
    id: int
    name: str
    color: str
    description: str
    created_at: datetime
    updated_at: datetime


class LabelList(Struct, kw_only=True):
    data: list[LabelOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class LabelsAdd(Struct, kw_only=True, forbid_unknown_fields=True):
    labels: LabelNames  # names of existing labels (ignoring case): 1–50


class Labels(Struct, kw_only=True):
    labels: list[str]  # every label the conversation / contact carries, sorted


# --------------------------------------------------------------------------- notes


class NoteCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    content: str | None = None  # 1–10,000 characters


# --------------------------------------------------------------------------- canned responses


class CannedCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    short_code: str  # 1–64 of A-Z a-z 0-9 _ -, unique ignoring case
    content: str  # 1–4,000 characters


class CannedPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    short_code: str | UnsetType = UNSET
    content: str | UnsetType = UNSET


class CannedOut(Struct, kw_only=True):
    id: int
    short_code: str
    content: str
    created_at: datetime
    updated_at: datetime


class CannedPage(Struct, kw_only=True):
    data: list[CannedOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


# --------------------------------------------------------------------------- reopen


class Reopened(Struct, kw_only=True):
    conversation_id: int
    status: str
    platform_state: str | None
    assignee_id: int | None
    platform_reopened: bool  # the platform session was created again (MP kfsession/create)
    reason: str | None  # why not, when not: platform_cannot_reopen | no_agent | window_closed | <error code>
    detail: str
