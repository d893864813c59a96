"""Alarm and alarm-event tables.

``priority`` is a rank: 1 is the most urgent. The queue orders by
(priority, raised_at). Every change to an alarm appends an ``AlarmEvent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arc.kit.model import Base, IdMixin

ALARM_STATUSES = ("queued", "accepted", "in_progress", "dispatched", "on_scene", "closed")
ALARM_CATEGORIES = ("personal", "environmental", "activity", "technical", "test")


class Alarm(IdMixin, Base):
    __tablename__ = "alarms"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'accepted', 'in_progress', 'dispatched', 'on_scene', 'closed')",
            name="status_known",
        ),
        CheckConstraint(
            "category IN ('personal', 'environmental', 'activity', 'technical', 'test')",
            name="category_known",
        ),
        Index("ix_alarms_queue", "priority", "raised_at", postgresql_where="status <> 'closed'"),
        Index("ix_alarms_unit_open", "cid", postgresql_where="status <> 'closed'"),
        Index("ix_alarms_customer_raised", "customer_id", "raised_at"),
    )

    cid: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("units.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL")
    )
    unknown_unit: Mapped[bool] = mapped_column(default=False, server_default="false")
    category: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32), default="activation", server_default="activation")
    priority: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")

    ref: Mapped[str | None] = mapped_column(String(16))
    dty: Mapped[str | None] = mapped_column(String(4))
    stc: Mapped[str | None] = mapped_column(String(4))
    did: Mapped[str | None] = mapped_column(String(64))
    dco: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    location_text: Mapped[str | None] = mapped_column(String(200))
    geo_lat: Mapped[float | None] = mapped_column()
    geo_lon: Mapped[float | None] = mapped_column()
    geo_at: Mapped[datetime | None] = mapped_column()
    callback_requested: Mapped[bool] = mapped_column(default=False, server_default="false")
    caller_ids: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")

    raised_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_activation_at: Mapped[datetime] = mapped_column(server_default=func.now())
    activation_count: Mapped[int] = mapped_column(default=1, server_default="1")
    reset_at_unit_at: Mapped[datetime | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    outcome_code: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[AlarmEvent]] = relationship(
        back_populates="alarm", lazy="raise", order_by="AlarmEvent.id"
    )


class AlarmEvent(IdMixin, Base):
    """Append-only: what happened to an alarm, who did it, when and why."""

    __tablename__ = "alarm_events"

    alarm_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    type: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64), default="system", server_default="system")
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")

    alarm: Mapped[Alarm] = relationship(back_populates="events", lazy="raise")
