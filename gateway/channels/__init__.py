"""Channel adapters: the whole registry of platform kinds (no discovery, no plugins)."""

from __future__ import annotations

from gateway.channels.base import Channel


def channel_classes() -> dict[str, type[Channel]]:
    """`{"wecom": WeComChannel, "mp": MpChannel}` (imported on first use: they pull in the clients)."""
    from gateway.channels.mp import MpChannel
    from gateway.channels.wecom import WeComChannel

    return {"wecom": WeComChannel, "mp": MpChannel}
