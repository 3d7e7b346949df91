"""`sync_msg`: paged pull of customer messages, servicer-client messages and events (docs/platforms.md §2.4).

The cursor is opaque: base64url of "<seq>.<check>", bound to the corp and the kf account. Pages
may be empty with has_more=1 (seeded, `WeComCorp.sync_empty_page_rate`), so clients must loop
on has_more. Without the callback's Token a kf account gets `sync_calls_per_minute` calls.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
from typing import Any

from litestar import Request, post

from kefu_sim.common import json_body, ok
from kefu_sim.wecom.base import corp_for
from kefu_sim.wecom.state import MEDIA_LIFETIME, KfMessage, WeComCorp
from kefu_sim.wecom_kf.session import account_of
from kefu_sim.world import SimError, World

INVALID = 40058
MAX_LIMIT = 1000
RATE_WINDOW = 60.0


def _check(corpid: str, open_kfid: str, seq: int) -> str:
    return hashlib.sha1(f"{corpid}|{open_kfid}|{seq}".encode()).hexdigest()[:10]


def encode_cursor(corpid: str, open_kfid: str, seq: int) -> str:
    raw = f"{seq}.{_check(corpid, open_kfid, seq)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(corpid: str, open_kfid: str, cursor: object) -> int:
    """The sequence number behind a cursor of this account; 40058 for anything else."""
    if cursor in (None, ""):
        return 0
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise SimError(INVALID, "invalid parameter: cursor")
    try:
        seq_text, check = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(".")
        seq = int(seq_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SimError(INVALID, "invalid parameter: cursor") from None
    if check != _check(corpid, open_kfid, seq):
        raise SimError(INVALID, "invalid parameter: cursor does not belong to this open_kfid")
    return seq


def _check_token(world: World, corp: WeComCorp, open_kfid: str, token: object) -> None:
    if not token:
        now = world.now()
        recent = [t for t in corp.sync_calls.get(open_kfid, []) if t > now - RATE_WINDOW]
        if len(recent) >= corp.sync_calls_per_minute:
            raise SimError(
                45009, f"api freq out of limit: sync_msg without token, {corp.sync_calls_per_minute} calls per minute"
            )
        recent.append(now)
        corp.sync_calls[open_kfid] = recent
        return
    grant = corp.sync_tokens.get(token) if isinstance(token, str) else None
    if grant is None or grant.expires_at <= world.now() or grant.open_kfid != open_kfid:
        raise SimError(95007, "invalid msg token: unknown, expired or for another open_kfid")


def _item(message: KfMessage, voice_format: int) -> dict[str, Any]:
    if voice_format == 1 and message.silk_media_id and message.item["msgtype"] == "voice":
        return {**message.item, "voice": {**message.item["voice"], "media_id": message.silk_media_id}}
    return message.item


@post("/cgi-bin/kf/sync_msg", status_code=200)
async def sync_msg(request: Request, world: World) -> dict[str, Any]:
    """95000/95004 open_kfid; 95007 bad token; 45009 too many token-less calls; 40058 cursor/limit/voice_format."""
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    _check_token(world, corp, account.open_kfid, body.get("token"))
    limit = body.get("limit") if body.get("limit") is not None else MAX_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise SimError(INVALID, f"invalid parameter: limit must be 1..{MAX_LIMIT}")
    voice_format = body.get("voice_format") or 0
    if voice_format not in (0, 1):
        raise SimError(INVALID, "invalid parameter: voice_format must be 0 (AMR) or 1 (SILK)")
    position = decode_cursor(corp.corpid, account.open_kfid, body.get("cursor"))

    horizon = world.now() - MEDIA_LIFETIME
    start = bisect.bisect_right(corp.messages, position, key=lambda m: m.seq)
    pending = [m for m in corp.messages[start:] if m.open_kfid == account.open_kfid and m.time > horizon]
    if pending and corp.sync_empty_page_rate > 0 and world.rng.random() < corp.sync_empty_page_rate:
        page: list[KfMessage] = []
        has_more = True
    else:
        page, has_more = pending[:limit], len(pending) > limit
    if page:
        position = page[-1].seq
    return ok(
        next_cursor=encode_cursor(corp.corpid, account.open_kfid, position),
        has_more=int(has_more),
        msg_list=[_item(m, voice_format) for m in page],
    )


HANDLERS = [sync_msg]
