"""The checks behind /readyz beyond the database: channel tokens, pull health, job backlog, sync lag.

Each check is a dict with `check`, `ok` and its details; /readyz answers 503 listing the failing
ones, 200 with all of them when every one passes. A check fails only on something an operator must
act on and that does not mend itself within the limits (GATEWAY_READY_*):

- `token` (per enabled channel): this process's last token fetch for the channel's credentials was
  refused as a credential error (wrong secret, unknown app id: ChannelMisconfigured). An outage or
  a rate limit does not fail it, nor does a channel not fetched for yet (`state: "unknown"`).
  Changing the channel's secret starts afresh (the new credentials have no failed fetch).
- `pull` (per enabled channel): a pull error stands on a stream whose last successful pull is older
  than the sync-lag limit (or that never pulled). Details: last callback, last pull, the errors.
- `jobs`: the oldest runnable job (due and pending, or running on a lapsed lease) has waited
  longer than the job-backlog limit.
- `sync_lag` (per WeCom kf account with callbacks): callbacks announced messages and the last
  successful pull is older than the sync-lag limit.

Reads are bounded: one query per table plus one LIMIT 1 per channel; token state is in memory.
Nothing here shows a secret: channels are named by id and name, errors by code and meaning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.pool import ChannelPool
from gateway.db.repositories import health
from gateway.db.types import utcnow
from gateway.errors import GatewayError
from gateway.settings import ReadinessSettings


async def channel_checks(
    session: AsyncSession, channels: ChannelPool, limits: ReadinessSettings, enabled: list[tuple[int, str]]
) -> list[dict[str, Any]]:
    now = utcnow()
    states = await health.channel_health(session, [cid for cid, _ in enabled])
    lags = {(lag.channel_id, lag.stream): lag for lag in await health.sync_lags(session, now)}
    out: list[dict[str, Any]] = []
    for channel_id, name in enabled:
        out.append(await _token_check(channels, channel_id, name))
        state = states[channel_id]
        stuck = {
            stream: error
            for stream, error in state.errors.items()
            if (pulled := state.pulls.get(stream)) is None or (now - pulled).total_seconds() > limits.sync_lag
        }
        out.append(
            {
                "check": "pull",
                "channel_id": channel_id,
                "channel": name,
                "ok": not stuck,
                "last_callback_at": state.last_callback_at,
                "last_pull_at": state.last_pull_at,
                "errors": state.errors,
            }
        )
    for (channel_id, stream), lag in sorted(lags.items()):
        out.append(
            {
                "check": "sync_lag",
                "channel_id": channel_id,
                "stream": stream,
                "ok": lag.seconds <= limits.sync_lag,
                "seconds": round(lag.seconds, 3),
                "limit_seconds": limits.sync_lag,
                "callback_at": lag.callback_at,
                "last_pull_at": lag.last_pull_at,
            }
        )
    return out


async def job_check(session: AsyncSession, limits: ReadinessSettings) -> dict[str, Any]:
    now = utcnow()
    oldest = await health.oldest_runnable_job(session, now)
    waited = (now - oldest.due_at).total_seconds() if oldest is not None else 0.0
    return {
        "check": "jobs",
        "ok": waited <= limits.job_backlog,
        "oldest_kind": oldest.kind if oldest is not None else None,
        "oldest_due_at": oldest.due_at if oldest is not None else None,
        "waited_seconds": round(waited, 3),
        "limit_seconds": limits.job_backlog,
    }


async def _token_check(channels: ChannelPool, channel_id: int, name: str) -> dict[str, Any]:
    check: dict[str, Any] = {"check": "token", "channel_id": channel_id, "channel": name}
    try:
        adapter = await channels.get(channel_id)
    except GatewayError as exc:  # disabled meanwhile, or a row the pool cannot use
        return {**check, "ok": False, "state": "unusable", "error": {"code": exc.code}}
    credential = getattr(adapter, "credential", None)
    outcome = channels.tokens.last_fetch(credential) if credential is not None else None
    if outcome is None:
        return {**check, "ok": True, "state": "unknown", "last_fetch_at": None}
    at = datetime.fromtimestamp(outcome.at, UTC)
    if outcome.ok:
        return {**check, "ok": True, "state": "ok", "last_fetch_at": at}
    return {
        **check,
        "ok": not outcome.credential_error,
        "state": "refused" if outcome.credential_error else "failed",
        "last_fetch_at": at,
        "error": {"code": outcome.code, "errcode": outcome.errcode, "message": outcome.message},
    }
