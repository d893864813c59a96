"""Response tasks (one per request sent to a responder, ERS or 999) and their delivery attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin

TASK_KINDS = ("responder", "ers", "emergency")
TASK_STATUSES = (
    "requested",
    "accepted",
    "declined",
    "no_answer",
    "en_route",
    "arrived",
    "done",
    "escalated",
    "cancelled",
)
SERVICES = ("ambulance", "fire", "police")
DELIVERY_OUTCOMES = ("pending", "sent", "failed")


class ResponseTask(IdMixin, Base):
    """Someone asked to go to (or phone) the customer for one alarm.

    ``escalate_at`` is when a still-``requested`` task gives way to the next in the plan;
    emergency tasks never escalate (999 is the end of the plan).
    """

    __tablename__ = "response_tasks"
    __table_args__ = (
        CheckConstraint("kind IN ('responder', 'ers', 'emergency')", name="kind_known"),
        CheckConstraint(
            "status IN ('requested', 'accepted', 'declined', 'no_answer', 'en_route', 'arrived', 'done', "
            "'escalated', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint(
            "service IS NULL OR service IN ('ambulance', 'fire', 'police')", name="service_known"
        ),
        CheckConstraint("kind <> 'emergency' OR service IS NOT NULL", name="emergency_has_service"),
        Index("ix_response_tasks_due", "escalate_at", postgresql_where="status = 'requested'"),
        Index("ix_response_tasks_ers_user", "ers_user_id", "status"),
    )

    alarm_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    responder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("responders.id", ondelete="SET NULL")
    )
    ers_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    service: Mapped[str | None] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    en_route_at: Mapped[datetime | None] = mapped_column()
    arrived_at: Mapped[datetime | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()  # declined / no answer / escalated / cancelled
    escalate_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)


class DeliveryAttempt(IdMixin, Base):
    """One try at telling a responder about a task (log line, webhook POST...), with its outcome."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        CheckConstraint("outcome IN ('pending', 'sent', 'failed', 'skipped')", name="outcome_known"),
    )

    task_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("response_tasks.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(8))
    status_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(500))
    job_id: Mapped[int | None] = mapped_column(BigInteger)  # the durable job that made this try
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
