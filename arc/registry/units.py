"""Unit and peripheral tables (the registry owns them; `devices` is only the wire protocol)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arc.kit.model import Base, IdMixin, TimestampMixin

LINK_STATES = ("ok", "failed", "unknown")


class Unit(IdMixin, TimestampMixin, Base):
    """A Lifeline controller, identified on the wire by its ``cid``."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("cid ~ '^[0-9]{1,32}$'", name="cid_digits"),
        CheckConstraint("heartbeat_interval_minutes BETWEEN 1 AND 1440", name="hb_interval_range"),
        CheckConstraint("comms_state IN ('ok', 'no_comms', 'unknown')", name="comms_state_known"),
        CheckConstraint("ip_link IN ('ok', 'failed', 'unknown')", name="ip_link_known"),
        CheckConstraint("mobile_link IN ('ok', 'failed', 'unknown')", name="mobile_link_known"),
        CheckConstraint("mains IN ('ok', 'failed', 'unknown')", name="mains_known"),
    )

    cid: Mapped[str] = mapped_column(String(32), unique=True)
    model: Mapped[str | None] = mapped_column(String(100))
    firmware: Mapped[str | None] = mapped_column(String(50))
    is_mobile: Mapped[bool] = mapped_column(default=False)
    heartbeat_interval_minutes: Mapped[int | None] = mapped_column()
    last_heard_at: Mapped[datetime | None] = mapped_column()
    comms_state: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    ip_link: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    mobile_link: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    mains: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    battery_low: Mapped[bool] = mapped_column(default=False, server_default="false")
    tamper: Mapped[bool] = mapped_column(default=False, server_default="false")
    notes: Mapped[str | None] = mapped_column(String(2000))
    # supervision (arc/supervision): last heartbeat, automatic test transmission, hbo/hbi negotiation
    last_heartbeat_at: Mapped[datetime | None] = mapped_column()
    last_test_at: Mapped[datetime | None] = mapped_column()
    accepts_hbi: Mapped[bool] = mapped_column(default=False, server_default="false")

    peripherals: Mapped[list[Peripheral]] = relationship(
        back_populates="unit", lazy="raise", cascade="all, delete-orphan", order_by="Peripheral.id"
    )


class Peripheral(IdMixin, TimestampMixin, Base):
    """A pendant, detector or sensor paired with a unit (``did`` on the wire)."""

    __tablename__ = "peripherals"
    __table_args__ = (
        UniqueConstraint("unit_id", "did"),
        CheckConstraint("dty ~ '^[0-9]{4}$'", name="dty_four_digits"),
    )

    unit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("units.id", ondelete="CASCADE"), index=True)
    did: Mapped[str] = mapped_column(String(64))
    dty: Mapped[str] = mapped_column(String(4))
    location_text: Mapped[str | None] = mapped_column(String(200))
    battery_low: Mapped[bool] = mapped_column(default=False, server_default="false")
    last_seen_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship(back_populates="peripherals", lazy="raise")
