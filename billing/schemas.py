"""Request and response bodies of the billing API (amounts in integer pence)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from arc.registry.schemas import Input, bounded_text

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Reason = bounded_text(2000)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    position: int
    kind: str
    description: str
    period_start: date
    period_end: date
    days: int
    weeks: Decimal
    weekly_pence: int
    net_pence: int
    vat_rate_bp: int
    vat_pence: int


class DocumentSummary(BaseModel):
    id: int
    doc_type: str
    number: str
    original_number: str | None
    reason: str
    customer_id: int
    connection_id: int
    customer_name: str
    case_reference: str | None
    account_number: str
    payer_name: str
    quarter: str
    period_start: date
    period_end: date
    weeks: Decimal
    issue_date: date
    due_date: date
    net_pence: int
    vat_pence: int
    gross_pence: int
    vat_treatment: str
    payment_state: str
    owed_pence: int


class DocumentOut(DocumentSummary):
    payer_address: str
    payment_method: str
    vat_statement: str
    letter_state: str
    stripe_state: str
    lines: list[LineOut]
    credit_notes: list[str]


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    total: int
    limit: int
    offset: int


class WaiverIn(Input):
    connection_id: Id
    start_date: date
    end_date: date
    reason: Reason


class WaiverDecision(Input):
    approve: bool


class WaiverOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    connection_id: int
    customer_id: int
    start_date: date
    end_date: date
    reason: str
    status: str
    requested_by_id: int
    requested_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None
    credit_notes: list[str] = []
    customer_name: str = ""


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    quarter: str
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    connections_seen: int
    invoices: int
    credit_notes: int
    invoiced_pence: int
    credited_pence: int
    waived_pence: int
    resumed: int


class AgeBucket(BaseModel):
    count: int
    owed_pence: int


class AgedDebtOut(BaseModel):
    as_of: date
    buckets: dict[str, AgeBucket]
    count: int
    owed_pence: int


class IncomeRowOut(BaseModel):
    label: str
    invoiced: int
    credited: int
    waived: int
    net: int


class IncomeOut(BaseModel):
    fy: int
    quarters: list[IncomeRowOut]
    total: IncomeRowOut
    brought_in: int
    deferred_out: int
    invoiced_in_year: int


class PriceIn(Input):
    weekly_pence: Annotated[int, Field(ge=0, le=100_000)]
    effective_from: date


class PriceOut(BaseModel):
    tariff: str
    effective_from: date
    weekly_pence: int


class TariffOut(BaseModel):
    code: str
    name: str
    vat_treatment: str
    prices: list[PriceOut]


class MissingDeclaration(BaseModel):
    customer_id: int
    account_number: str
    customer_name: str


Format = Literal["csv", "xlsx"]


VatTreatment = Literal["outside_scope", "exempt", "zero_rated", "standard"]
PaymentMethod = Literal["invoice", "direct_debit", "card"]


class AccountIn(Input):
    payer_name: bounded_text(200) | None = None
    payer_relationship: bounded_text(100) | None = None
    payer_address: bounded_text(1000) | None = None
    payer_postcode: bounded_text(10) | None = None
    payer_email: (
        Annotated[str, Field(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")] | None
    ) = None
    payment_method: PaymentMethod = "invoice"
    mandate_reference: bounded_text(64) | None = None
    vat_treatment: VatTreatment | None = None
    vat_declaration_on: date | None = None
    large_print: bool = False


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    customer_id: int
    account_number: str
    payer_name: str | None
    payer_relationship: str | None
    payer_address: str | None
    payer_postcode: str | None
    payer_email: str | None
    payment_method: str
    mandate_reference: str | None
    vat_treatment: str | None
    vat_declaration_on: date | None
    large_print: bool
