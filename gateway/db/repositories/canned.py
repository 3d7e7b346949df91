"""Canned responses: a short code (what an agent types after `/`) and the text it stands for.

`short_code` is 1–64 letters, digits, `_` or `-`, unique without regard to case (checked here; the
unique index backs exact duplicates). Search (`q`): short codes that start with `q`, ignoring case,
and, once `q` has 2 characters or more, responses whose content contains it (also ignoring case,
for ASCII on SQLite). Lists are ordered by short code and page with `after=<short_code>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.people import CannedResponse
from gateway.db.repositories import audit
from gateway.db.types import utcnow
from gateway.errors import Conflict, InvalidRequest, NotFound

SHORT_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONTENT_MAX = 4_000
CONTAINS_FROM = 2  # q of this length or more also searches the content


class ShortCodeTaken(Conflict):
    code = "short_code_taken"


def check_short_code(short_code: str) -> str:
    if not SHORT_CODE.fullmatch(short_code):
        raise InvalidRequest("short_code is 1–64 letters, digits, _ or -", field="short_code")
    return short_code


def check_content(content: str) -> str:
    if not content.strip() or len(content) > CONTENT_MAX:
        raise InvalidRequest(f"content is 1–{CONTENT_MAX:,} characters", field="content")
    return content


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(session: AsyncSession, *, q: str | None, after: str | None, limit: int) -> list[CannedResponse]:
    query = select(CannedResponse).order_by(CannedResponse.short_code).limit(limit)
    if q:
        condition: ColumnElement[bool] = CannedResponse.short_code.ilike(f"{_escaped(q)}%", escape="\\")
        if len(q) >= CONTAINS_FROM:
            condition = condition | CannedResponse.content.ilike(f"%{_escaped(q)}%", escape="\\")
        query = query.where(condition)
    if after is not None:
        query = query.where(CannedResponse.short_code > after)
    return list(await session.scalars(query))


async def get(session: AsyncSession, canned_id: int) -> CannedResponse:
    row = await session.get(CannedResponse, canned_id)
    if row is None:
        raise NotFound(f"canned response {canned_id} not found")
    return row


async def _check_unique(session: AsyncSession, short_code: str, *, other_than: int | None = None) -> None:
    query = select(CannedResponse.id, CannedResponse.short_code).where(
        func.lower(CannedResponse.short_code) == short_code.lower()  # ASCII only: lower() agrees everywhere
    )
    for row_id, taken in await session.execute(query):
        if row_id != other_than:
            raise ShortCodeTaken(f"short_code {taken!r} exists already (codes ignore case)", field="short_code")


async def _flush(session: AsyncSession, short_code: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent writer took it between the check and the flush
        raise ShortCodeTaken(f"short_code {short_code!r} exists already", field="short_code") from None


async def create(session: AsyncSession, actor: Mapping[str, Any], *, short_code: str, content: str) -> CannedResponse:
    short_code = check_short_code(short_code)
    await _check_unique(session, short_code)
    row = CannedResponse(short_code=short_code, content=check_content(content))
    session.add(row)
    await _flush(session, short_code)
    await audit.record(
        session,
        actor,
        "canned.create",
        subject_type="canned_response",
        subject_id=row.id,
        detail={"short_code": short_code},
    )
    return row


async def update(
    session: AsyncSession,
    actor: Mapping[str, Any],
    row: CannedResponse,
    *,
    short_code: str | None = None,
    content: str | None = None,
) -> CannedResponse:
    changed: list[str] = []
    if short_code is not None and check_short_code(short_code) != row.short_code:
        await _check_unique(session, short_code, other_than=row.id)
        row.short_code = short_code
        changed.append("short_code")
    if content is not None and check_content(content) != row.content:
        row.content = content
        changed.append("content")
    if changed:
        row.updated_at = utcnow()
        await _flush(session, row.short_code)
        await audit.record(
            session,
            actor,
            "canned.update",
            subject_type="canned_response",
            subject_id=row.id,
            detail={"changed": changed, "short_code": row.short_code},
        )
    return row


async def remove(session: AsyncSession, actor: Mapping[str, Any], row: CannedResponse) -> None:
    await audit.record(
        session,
        actor,
        "canned.delete",
        subject_type="canned_response",
        subject_id=row.id,
        detail={"short_code": row.short_code},
    )
    await session.delete(row)
    await session.flush()
