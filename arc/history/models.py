"""Flag tables of the read side: flags, their reviews, the evaluation cursor and the thresholds.

Written only through ``arc/history/flags.py`` (one write path for flags). A flag is ``open``
while its pattern holds, ``cleared`` when the pattern ended before anyone resolved it, and
``resolved`` when a reviewer took action; ``pattern_ended_at`` on a resolved flag records that
the pattern has since gone, so the same kind may be raised again when it returns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin

FLAG_KINDS = (
    "cluster",
    "falls",
    "frequent_caller",
    "trend_rising",
    "trend_falling",
    "false_alarms",
    "equipment",
)
FLAG_STATUSES = ("open", "cleared", "resolved")
SEVERITIES = ("high", "medium", "low", "info")
REVIEW_STATUSES = ("seen", "action_taken", "no_action_needed")
REVIEW_ACTIONS = ("falls_referral", "reablement", "equipment_change", "review_visit", "other")


class Flag(IdMixin, Base):
    __tablename__ = "history_flags"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'cleared', 'resolved')", name="status_known"),
        CheckConstraint("severity IN ('high', 'medium', 'low', 'info')", name="severity_known"),
        Index(
            "uq_history_flags_open_kind",
            "customer_id",
            "kind",
            unique=True,
            postgresql_where="status = 'open'",
        ),
        Index("ix_history_flags_status_raised", "status", "raised_at"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    reason: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    alarm_ids: Mapped[list[int]] = mapped_column(JSONB, default=list, server_default="[]")
    numbers: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    raised_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    cleared_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    pattern_ended_at: Mapped[datetime | None] = mapped_column()


class FlagReview(IdMixin, Base):
    """A TEC reviewer's look at a flag: seen, or action taken (what, and a note)."""

    __tablename__ = "history_flag_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('seen', 'action_taken', 'no_action_needed')", name="status_known"),
        CheckConstraint(
            "action IS NULL OR action IN ('falls_referral', 'reablement', 'equipment_change', "
            "'review_visit', 'other')",
            name="action_known",
        ),
    )

    flag_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("history_flags.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    status: Mapped[str] = mapped_column(String(24))
    action: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class FlagCursor(Base):
    """How far flag evaluation has read the alarm event log (one row, ``name`` = 'flags')."""

    __tablename__ = "history_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    swept_at: Mapped[datetime | None] = mapped_column()
    full_pass_due: Mapped[bool] = mapped_column(default=True, server_default="true")


class FlagThresholdsRow(Base):
    """The thresholds in force (one row, ``id`` = 1); absent means the defaults."""

    __tablename__ = "flag_thresholds"

    id: Mapped[int] = mapped_column(primary_key=True)
    values: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column()
    updated_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
