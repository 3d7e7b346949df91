"""Personal invitation links: one token per MP follower (identity), carried as the contact way's
`scene_param`, so the WeCom identity that enters with it can be linked to the MP contact.

The message template may use `{link}` (required) and `{name}` (the follower's nickname; empty while
the profile is not fetched yet, e.g. in the auto-reply to a first MP message).
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.cutover.planfile import PlanError
from gateway.db.cutover import CutoverInvitation

TOKEN_PREFIX = "mp"
OPT_OUT_WORDS = frozenset({"td", "退订", "unsubscribe", "stop"})
DEFAULT_TEMPLATE = "我们的在线客服已搬到企业微信，点这里继续咨询：{link}\n回复 TD 不再接收此类消息"


def new_token() -> str:
    """20 url-safe characters: unguessable, and well under the 128-byte scene_param limit."""
    return TOKEN_PREFIX + secrets.token_hex(9)


def personal_link(url: str, token: str) -> str:
    """The contact-way URL with `&scene_param=` appended (docs/platforms.md §2.1: the rest untouched)."""
    return f"{url}{'&' if '?' in url else '?'}scene_param={quote(token, safe='')}"


def check_template(template: str) -> str:
    if "{link}" not in template:
        raise PlanError("the message template must contain {link} (the personal WeCom kf link)")
    return template


def render(template: str, link: str, name: str | None) -> str:
    return template.replace("{link}", link).replace("{name}", name or "")


async def invitation_for(
    session: AsyncSession, channel_id: int, identity_id: int, plan: str, via: str
) -> CutoverInvitation:
    """The follower's invitation, made (with a new token) on first need. The caller runs this in a
    savepoint when another writer may make the same row at once."""
    row = await session.scalar(select(CutoverInvitation).where(CutoverInvitation.identity_id == identity_id))
    if row is None:
        row = CutoverInvitation(channel_id=channel_id, identity_id=identity_id, token=new_token(), plan=plan, via=via)
        session.add(row)
        await session.flush()
    return row
