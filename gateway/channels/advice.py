"""What an operator should hear about a channel's configuration: warnings shown where the channel is.

They appear in the channel's API representation (`warnings`, also in the answer that creates it),
are printed by `kefu-gateway channel add` and logged when the channel takes callbacks
(docs/security.md, "Replay window").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.domain import ChannelKind

MP_PLAIN_BODY = (
    "callback_mode {mode!r}: the platform's signature covers only the timestamp and nonce, not the message "
    "body, so anyone who captures one signed callback can send any message in its name until it leaves "
    'the replay window (GATEWAY_CALLBACK_MAX_AGE); use callback_mode "safe" (encrypted, signed bodies)'
)

CUTOVER = (
    "migrating to WeCom kf (plan {plan!r}): new conversations are answered with the follower's personal "
    "WeCom kf link; `kefu-gateway migrate cutover --mp-channel <id> off` ends it"
)


def channel_warnings(kind: str, settings: Mapping[str, Any]) -> list[str]:
    """The warnings of a channel row (kind + settings); empty when there is nothing to say."""
    warnings = []
    if kind == ChannelKind.MP:
        mode = settings.get("callback_mode", "plain")
        if mode in ("plain", "compat"):
            warnings.append(MP_PLAIN_BODY.format(mode=mode))
        cutover = settings.get("cutover")
        if isinstance(cutover, dict):
            warnings.append(CUTOVER.format(plan=cutover.get("plan") or ""))
    return warnings
