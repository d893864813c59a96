"""Customer, connection and nominated-responder tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arc.kit.model import Base, IdMixin, TimestampMixin
from arc.registry.units import Unit

CONNECTION_STATUSES = ("trial", "active", "withdrawn")
REVIEW_OUTCOMES = ("retained", "not_retained")
# why a connection ended; "not_retained" is the 6-week review's "no"
WITHDRAWAL_REASONS = (
    "death",
    "residential_care",
    "moved_in_with_family",
    "cancelled",
    "moved_away",
    "not_retained",
)
ABSENCE_KINDS = ("hospital", "holiday")


class Customer(IdMixin, TimestampMixin, Base):
    """A person who has a Lifeline service. Holds special-category data."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_name", "family_name", "given_name"),)

    case_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    date_of_birth: Mapped[date | None] = mapped_column()
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(10), index=True)
    phone_primary: Mapped[str | None] = mapped_column(String(32))
    phone_secondary: Mapped[str | None] = mapped_column(String(32))
    # AES-GCM ciphertext (arc/kit/crypto.py); read only through GET /api/customers/{id}/key-safe
    key_safe_ciphertext: Mapped[str | None] = mapped_column(Text)
    risk_notes: Mapped[str | None] = mapped_column(Text)
    medical_notes: Mapped[str | None] = mapped_column(Text)
    # the council marks the medical notes as shareable with responders (ERS) on an accepted job
    medical_notes_shareable: Mapped[bool] = mapped_column(default=False, server_default="false")
    gp_name: Mapped[str | None] = mapped_column(String(200))
    gp_phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(50))
    # how to talk with them: hard of hearing, speech, sight, interpreter...
    communication_needs: Mapped[str | None] = mapped_column(String(200))
    # set when the retention purge erased this person's data (billing records are kept)
    erased_at: Mapped[datetime | None] = mapped_column()

    connections: Mapped[list[Connection]] = relationship(back_populates="customer", lazy="raise")
    responders: Mapped[list[Responder]] = relationship(
        back_populates="customer", lazy="raise", order_by="Responder.position"
    )
    absences: Mapped[list[Absence]] = relationship(
        back_populates="customer", lazy="raise", order_by="Absence.starts_on"
    )


class Connection(IdMixin, TimestampMixin, Base):
    """A customer's Lifeline service: which unit, which tariff, since when, in what state."""

    __tablename__ = "connections"
    __table_args__ = (
        CheckConstraint("status IN ('trial', 'active', 'withdrawn')", name="status_known"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_on IS NOT NULL)", name="withdrawn_has_date"),
        CheckConstraint(
            "review_outcome IS NULL OR review_outcome IN ('retained', 'not_retained')", name="review_outcome_known"
        ),
        CheckConstraint("(review_outcome IS NULL) = (review_recorded_at IS NULL)", name="review_has_time"),
        # a unit serves at most one live connection at a time
        Index(
            "uq_connections_live_unit",
            "unit_id",
            unique=True,
            postgresql_where="status <> 'withdrawn' AND unit_id IS NOT NULL",
        ),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("units.id", ondelete="SET NULL"))
    tariff_code: Mapped[str] = mapped_column(String(32), default="standard", server_default="standard")
    install_date: Mapped[date] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="trial", server_default="trial")
    activated_on: Mapped[date | None] = mapped_column()
    withdrawn_on: Mapped[date | None] = mapped_column()
    withdrawal_reason: Mapped[str | None] = mapped_column(String(200))
    # the 6-week review (day 42 = install_date + 41): retained -> active, charged from day 43
    # (activated_on = install_date + 42); not_retained -> withdrawn on the review date, never invoiced
    review_outcome: Mapped[str | None] = mapped_column(String(16))
    review_reason: Mapped[str | None] = mapped_column(String(200))
    review_recorded_at: Mapped[datetime | None] = mapped_column()
    # the day the unit came back after a withdrawal (null: not back yet)
    unit_returned_on: Mapped[date | None] = mapped_column()

    customer: Mapped[Customer] = relationship(back_populates="connections", lazy="raise")
    unit: Mapped[Unit | None] = relationship(lazy="raise")


class Responder(IdMixin, TimestampMixin, Base):
    """A nominated responder (family, neighbour, friend) in the customer's call order."""

    __tablename__ = "responders"
    __table_args__ = (
        UniqueConstraint("customer_id", "position"),
        CheckConstraint("position >= 1", name="position_positive"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(200))
    relationship_to_customer: Mapped[str | None] = mapped_column(String(100))
    phone_primary: Mapped[str] = mapped_column(String(32))
    phone_secondary: Mapped[str | None] = mapped_column(String(32))
    holds_key: Mapped[bool] = mapped_column(default=False, server_default="false")
    # [{"days": [0..6] (Mon=0), "start": "HH:MM", "end": "HH:MM"}]; empty = any time
    availability: Mapped[list[dict]] = mapped_column(JSONB, default=list, server_default="[]")
    notes: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="responders", lazy="raise")


class Absence(IdMixin, TimestampMixin, Base):
    """A hospital stay or a holiday: alarms are still handled; the alarm card says the person is away."""

    __tablename__ = "customer_absences"
    __table_args__ = (
        CheckConstraint("kind IN ('hospital', 'holiday')", name="kind_known"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()  # null: open-ended (back date not known yet)
    note: Mapped[str | None] = mapped_column(String(200))

    customer: Mapped[Customer] = relationship(back_populates="absences", lazy="raise")


class UnitAssignment(IdMixin, TimestampMixin, Base):
    """Which unit served which connection, when: a swapped unit keeps its history here."""

    __tablename__ = "unit_assignments"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= assigned_on", name="ends_after_start"),
        Index("ix_unit_assignments_unit_assigned", "unit_id", "assigned_on"),
    )

    unit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("units.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    assigned_on: Mapped[date] = mapped_column()
    ended_on: Mapped[date | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(32))  # swap (and why), withdrawn
    returned_on: Mapped[date | None] = mapped_column()  # the unit came back to stock

    connection: Mapped[Connection] = relationship(lazy="raise")
    unit: Mapped[Unit] = relationship(lazy="raise")
