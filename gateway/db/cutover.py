"""The tables of the MP → WeCom kf cutover (gateway.cutover): what `migrate apply` has done on the
platform for a plan, and the personal invitations sent to MP followers. Migration 0008 creates them.

`cutover_steps` makes apply resumable: one row per finished step (a kf account created or found, a
servicer added, a contact-way link created) keyed by the plan's name and the step's key, with what
the platform answered (open_kfid, url). `cutover_invitations` holds one row per MP follower: the
token carried as `scene_param` in their personal link, the message that carried it, and when the
WeCom identity entered with it (the two contacts are merged then).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base
from gateway.db.base import created_column as _created
from gateway.db.base import id_column as _id


class CutoverStep(Base):
    """One finished step of a cutover plan; `result` holds what the platform answered."""

    __tablename__ = "cutover_steps"
    __table_args__ = (UniqueConstraint("plan", "step"),)
    id: Mapped[int] = _id()
    plan: Mapped[str] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(256))  # account:<key> | servicer:<key>:<userid> | way:<entry>
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class CutoverInvitation(Base):
    """A personal WeCom kf link for one MP follower (identity on the MP channel)."""

    __tablename__ = "cutover_invitations"
    __table_args__ = (UniqueConstraint("identity_id"),)
    id: Mapped[int] = _id()
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("contact_identities.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    plan: Mapped[str] = mapped_column(String(128))
    via: Mapped[str] = mapped_column(String(16), default="campaign")  # campaign | auto_reply
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None] = mapped_column()
    entered_at: Mapped[datetime | None] = mapped_column()
    wecom_identity_id: Mapped[int | None] = mapped_column(ForeignKey("contact_identities.id", ondelete="SET NULL"))
    opted_out_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
