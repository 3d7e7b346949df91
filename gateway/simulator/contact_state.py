"""WeCom external-contact (客户联系) state held by the simulator."""

from __future__ import annotations

import msgspec


class ContactBook(msgspec.Struct, kw_only=True):
    """External contacts, follow users, contact ways, tags and group chats of one corp."""
