"""Customer, connection and nominated-responder tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arc.kit.model import Base, IdMixin, TimestampMixin
from arc.registry.units import Unit

CONNECTION_STATUSES = ("trial", "active", "withdrawn")


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
    # AES-GCM ciphertext (arc/security/crypto.py); read only through GET /api/customers/{id}/key-safe
    key_safe_ciphertext: Mapped[str | None] = mapped_column(Text)
    risk_notes: Mapped[str | None] = mapped_column(Text)
    medical_notes: Mapped[str | None] = mapped_column(Text)
    gp_name: Mapped[str | None] = mapped_column(String(200))
    gp_phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(50))
    # set when the retention purge erased this person's data (billing records are kept)
    erased_at: Mapped[datetime | None] = mapped_column()

    connections: Mapped[list[Connection]] = relationship(back_populates="customer", lazy="raise")
    responders: Mapped[list[Responder]] = relationship(
        back_populates="customer", lazy="raise", order_by="Responder.position"
    )


class Connection(IdMixin, TimestampMixin, Base):
    """A customer's Lifeline service: which unit, which tariff, since when, in what state."""

    __tablename__ = "connections"
    __table_args__ = (
        CheckConstraint("status IN ('trial', 'active', 'withdrawn')", name="status_known"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_on IS NOT NULL)", name="withdrawn_has_date"),
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
