"""Billing tables: tariffs and effective-dated prices, accounts (VAT and payer), the ledger of
issued documents and their lines, waivers, runs and the Stripe event inbox.

Issued documents and their lines are immutable: a database trigger (migration billing_0001)
refuses any change of their money, dates or number, and any delete. Corrections are credit notes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arc.kit.model import Base, IdMixin, TimestampMixin

VAT_TREATMENTS = ("outside_scope", "exempt", "zero_rated", "standard")
PAYMENT_METHODS = ("invoice", "direct_debit", "card")
DOC_TYPES = ("invoice", "credit_note")
PAYMENT_STATES = ("unpaid", "paid", "failed", "uncollectible", "refunded", "none")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Tariff(IdMixin, TimestampMixin, Base):
    __tablename__ = "billing_tariffs"
    __table_args__ = (CheckConstraint(_in("vat_treatment", VAT_TREATMENTS), name="vat_known"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)  # = connections.tariff_code
    name: Mapped[str] = mapped_column(String(200))
    vat_treatment: Mapped[str] = mapped_column(String(16), default="outside_scope")
    nominal_code: Mapped[str | None] = mapped_column(String(32))

    prices: Mapped[list[TariffPrice]] = relationship(
        back_populates="tariff", lazy="raise", order_by="TariffPrice.effective_from"
    )


class TariffPrice(IdMixin, TimestampMixin, Base):
    __tablename__ = "billing_tariff_prices"
    __table_args__ = (
        UniqueConstraint("tariff_id", "effective_from"),
        CheckConstraint("weekly_pence >= 0", name="weekly_not_negative"),
    )

    tariff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("billing_tariffs.id", ondelete="CASCADE"))
    effective_from: Mapped[date] = mapped_column()
    weekly_pence: Mapped[int] = mapped_column(Integer)

    tariff: Mapped[Tariff] = relationship(back_populates="prices", lazy="raise")


class Account(IdMixin, TimestampMixin, Base):
    """Who pays for a customer's service and how; the customer's VAT position."""

    __tablename__ = "billing_accounts"
    __table_args__ = (
        CheckConstraint(f"vat_treatment IS NULL OR {_in('vat_treatment', VAT_TREATMENTS)}", name="vat_known"),
        CheckConstraint(_in("payment_method", PAYMENT_METHODS), name="method_known"),
        CheckConstraint(
            "payment_method <> 'direct_debit' OR mandate_reference IS NOT NULL", name="dd_has_mandate"
        ),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"), unique=True
    )
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    vat_treatment: Mapped[str | None] = mapped_column(String(16))  # None = the tariff's
    vat_declaration_on: Mapped[date | None] = mapped_column()  # zero-rating eligibility declaration
    payer_name: Mapped[str | None] = mapped_column(String(200))  # None = the customer pays
    payer_relationship: Mapped[str | None] = mapped_column(String(100))  # daughter, attorney, deputy...
    payer_address: Mapped[str | None] = mapped_column(Text)
    payer_postcode: Mapped[str | None] = mapped_column(String(10))
    payer_email: Mapped[str | None] = mapped_column(String(254))
    payment_method: Mapped[str] = mapped_column(String(16), default="invoice")
    mandate_reference: Mapped[str | None] = mapped_column(String(64))
    large_print: Mapped[bool] = mapped_column(default=False, server_default="false")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64))


class Run(IdMixin, TimestampMixin, Base):
    """One billing run; ``cursor_connection_id`` is its progress, committed with each batch."""

    __tablename__ = "billing_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('quarter', 'daily')", name="kind_known"),
        CheckConstraint("status IN ('running', 'finished')", name="status_known"),
        # one unfinished run per quarter: a second start resumes it
        Index(
            "uq_billing_runs_running_quarter", "quarter", unique=True, postgresql_where="status = 'running'"
        ),
    )

    kind: Mapped[str] = mapped_column(String(16))
    quarter: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    cursor_connection_id: Mapped[int] = mapped_column(BigInteger, default=0)
    connections_seen: Mapped[int] = mapped_column(default=0)
    invoices: Mapped[int] = mapped_column(default=0)
    credit_notes: Mapped[int] = mapped_column(default=0)
    invoiced_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    waived_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    resumed: Mapped[int] = mapped_column(default=0)


class Waiver(IdMixin, TimestampMixin, Base):
    """Hardship: charges waived for a date range, requested by one person, approved by another."""

    __tablename__ = "billing_waivers"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="range_forward"),
        CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> requested_by_id", name="four_eyes"),
        Index("ix_billing_waivers_connection", "connection_id", "start_date"),
    )

    connection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("connections.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"))
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column()


class Sequence(Base):
    """The last number issued per document type; taken with an upsert in the issuing transaction."""

    __tablename__ = "billing_sequences"

    doc_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class Document(IdMixin, TimestampMixin, Base):
    """An issued invoice or credit note. Rows exist only once issued, so every row has its number."""

    __tablename__ = "billing_documents"
    __table_args__ = (
        CheckConstraint(_in("doc_type", DOC_TYPES), name="type_known"),
        CheckConstraint(_in("payment_state", PAYMENT_STATES), name="payment_known"),
        CheckConstraint("gross_pence = net_pence + vat_pence", name="gross_is_net_plus_vat"),
        CheckConstraint("(doc_type = 'credit_note') = (original_id IS NOT NULL)", name="credit_has_original"),
        UniqueConstraint("doc_type", "number"),
        # idempotency: one invoice per connection and service period, one credit per cause
        Index(
            "uq_billing_documents_invoice_quarter",
            "connection_id",
            "quarter",
            unique=True,
            postgresql_where="doc_type = 'invoice'",
        ),
        Index(
            "uq_billing_documents_credit_cause",
            "original_id",
            "reason",
            "waiver_id",
            unique=True,
            postgresql_where="doc_type = 'credit_note'",
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_billing_documents_issue_date", "issue_date"),
        Index("ix_billing_documents_customer", "customer_id"),
    )

    doc_type: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))  # quarterly | first | withdrawal | waiver
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_accounts.id", ondelete="RESTRICT")
    )
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"))
    connection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("connections.id", ondelete="RESTRICT"))
    original_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_documents.id", ondelete="RESTRICT")
    )
    waiver_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_waivers.id", ondelete="RESTRICT")
    )
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("billing_runs.id", ondelete="SET NULL"))
    quarter: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    issue_date: Mapped[date] = mapped_column()
    due_date: Mapped[date] = mapped_column()
    net_pence: Mapped[int] = mapped_column(BigInteger)
    vat_pence: Mapped[int] = mapped_column(BigInteger)
    gross_pence: Mapped[int] = mapped_column(BigInteger)
    vat_treatment: Mapped[str] = mapped_column(String(16))
    payer_name: Mapped[str] = mapped_column(String(200))  # as printed, kept though the account changes
    payer_address: Mapped[str] = mapped_column(Text)
    payment_method: Mapped[str] = mapped_column(String(16))
    payment_state: Mapped[str] = mapped_column(String(16), default="unpaid")
    paid_on: Mapped[date | None] = mapped_column()
    letter_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | printed
    stripe_state: Mapped[str] = mapped_column(String(16), default="off")  # off | pending | sent | failed
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(64), index=True)

    lines: Mapped[list[DocumentLine]] = relationship(
        back_populates="document", lazy="raise", order_by="DocumentLine.position"
    )

    @property
    def display_number(self) -> str:
        return f"{'INV' if self.doc_type == 'invoice' else 'CN'}-{self.number:06d}"


class DocumentLine(IdMixin, Base):
    __tablename__ = "billing_document_lines"
    __table_args__ = (
        CheckConstraint("kind IN ('charge', 'waiver', 'credit')", name="kind_known"),
        CheckConstraint("period_end >= period_start", name="period_forward"),
        UniqueConstraint("document_id", "position"),
    )

    document_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_documents.id", ondelete="RESTRICT")
    )
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    days: Mapped[int] = mapped_column()
    weeks: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    weekly_pence: Mapped[int] = mapped_column(Integer)
    net_pence: Mapped[int] = mapped_column(BigInteger)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    vat_pence: Mapped[int] = mapped_column(BigInteger)
    source_line_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_document_lines.id", ondelete="RESTRICT")
    )

    document: Mapped[Document] = relationship(back_populates="lines", lazy="raise")


class StripeEvent(Base):
    """Inbox of Stripe webhooks, keyed by the event id: each event is applied once."""

    __tablename__ = "billing_stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(200))
