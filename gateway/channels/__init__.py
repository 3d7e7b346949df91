"""Channel adapters: the whole registry of platform kinds (no discovery, no plugins)."""

from __future__ import annotations

from gateway.channels.base import Channel
from gateway.channels.mp import MpChannel
from gateway.channels.wecom import WeComChannel
from gateway.domain import ChannelKind

CHANNELS: dict[ChannelKind, type[Channel]] = {ChannelKind.WECOM: WeComChannel, ChannelKind.MP: MpChannel}


def channel_class(kind: str) -> type[Channel]:
    """The adapter class of a channel row's `kind`."""
    return CHANNELS[ChannelKind(kind)]


def sendable_types() -> frozenset[str]:
    """Every content type some adapter can send (each adapter's own `send_types`, joined)."""
    return frozenset().union(*(cls.send_types for cls in CHANNELS.values()))
