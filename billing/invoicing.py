"""From registry facts to draft documents: a connection's invoice for a quarter, and the credit
notes a withdrawal or a late waiver calls for. Pure functions over loaded rows; nothing is
written here (billing/ledger.py issues)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from billing.ledger import DraftDocument, DraftLine
from billing.models import Account, Document, DocumentLine
from billing.money import credit_pence, money, vat_pence, weeks_shown
from billing.periods import (
    ONE_DAY,
    ConnectionTerms,
    Quarter,
    Segment,
    billable_segments,
    days_inclusive,
    first_chargeable_day,
    overlap,
    waived_segments,
)
from billing.tariffs import TariffTerms, document_vat, vat_rate_bp


class BillingDataError(ValueError):
    """Registry or tariff data that cannot be billed as it stands (named in the message)."""


@dataclass(frozen=True)
class IssueContext:
    issue_date: date
    payment_terms_days: int
    standard_vat_bp: int
    tariffs: dict[str, TariffTerms]
    stripe: bool = False

    @property
    def due_date(self) -> date:
        return self.issue_date + timedelta(days=self.payment_terms_days)


def is_retained(review_outcome: str | None, activated_on: date | None) -> bool:
    """The review said "retained" (or, for records from before reviews were kept, it was activated)."""
    if review_outcome is not None:
        return review_outcome == "retained"
    return activated_on is not None


def terms_of(conn) -> ConnectionTerms:
    try:
        return ConnectionTerms(
            install_date=conn.install_date,
            retained=is_retained(conn.review_outcome, conn.activated_on),
            withdrawn_on=conn.withdrawn_on,
        )
    except ValueError as exc:
        raise BillingDataError(f"connection {conn.id}: {exc}") from exc


def _period_text(start: date, end: date) -> str:
    return f"{start:%-d %b %Y} to {end:%-d %b %Y}"


def _line(kind: str, description: str, seg: Segment, rate: int, sign: int = 1) -> DraftLine:
    """One line for a segment: its amount rounded once, VAT on that, negative for a waiver."""
    return DraftLine(
        kind=kind,
        description=description,
        period_start=seg.start,
        period_end=seg.end,
        days=seg.days,
        weeks=seg.weeks,
        weekly_pence=seg.weekly_pence,
        net_pence=sign * seg.amount_pence,
        vat_rate_bp=rate,
        vat_pence=sign * vat_pence(seg.amount_pence, rate),
    )


def invoice_draft(
    ctx: IssueContext,
    quarter: Quarter,
    conn,
    account: Account | None,
    payer: tuple[str, str],
    waivers: Sequence[tuple[date, date]] = (),
) -> DraftDocument | None:
    """The invoice of ``conn`` (a row with the registry's connection columns) for ``quarter``."""
    tariff = ctx.tariffs.get(conn.tariff_code)
    if tariff is None:
        raise BillingDataError(f"connection {conn.id} has tariff {conn.tariff_code!r}, which does not exist")
    terms = terms_of(conn)
    try:
        segments = billable_segments(terms, tariff.prices, quarter)
    except ValueError as exc:
        raise BillingDataError(f"tariff {tariff.code!r}: {exc}") from exc
    if not segments:
        return None
    treatment = document_vat(tariff, account)
    rate = vat_rate_bp(treatment, ctx.standard_vat_bp)
    lines = [
        _line(
            "charge",
            f"{tariff.name}, {_period_text(s.start, s.end)}: {s.weeks} weeks at {money(s.weekly_pence)} a week",
            s,
            rate,
        )
        for s in segments
    ]
    lines += [
        _line(
            "waiver",
            f"Charges waived (hardship), {_period_text(w.start, w.end)}: {w.weeks} weeks",
            w,
            rate,
            sign=-1,
        )
        for w in waived_segments(segments, waivers)
    ]
    first = segments[0].start == first_chargeable_day(terms.install_date)
    draft = DraftDocument(
        doc_type="invoice",
        reason="first" if first else "quarterly",
        account_id=account.id if account else 0,
        customer_id=conn.customer_id,
        connection_id=conn.id,
        quarter=quarter.label,
        issue_date=ctx.issue_date,
        due_date=ctx.due_date,
        vat_treatment=treatment,
        payer_name=payer[0],
        payer_address=payer[1],
        payment_method=account.payment_method if account else "invoice",
        lines=lines,
    )
    draft.stripe_state = "pending" if ctx.stripe and draft.gross_pence > 0 else "off"
    return draft


DaysOf = Callable[[DocumentLine], tuple[date, date] | None]


def withdrawal_days(withdrawn_on: date) -> DaysOf:
    """The part of a line after the last day of service."""
    return lambda line: overlap(line.period_start, line.period_end, withdrawn_on + ONE_DAY, date.max)


def waiver_days(start: date, end: date) -> DaysOf:
    return lambda line: overlap(line.period_start, line.period_end, start, end)


def credit_draft(
    ctx: IssueContext,
    original: Document,
    lines: Sequence[DocumentLine],
    days_of: DaysOf,
    *,
    reason: str,
    already_credited_pence: int = 0,
    waiver_id: int | None = None,
) -> DraftDocument | None:
    """A credit note for the part of ``original`` that ``days_of`` picks out of each line:
    line amount x those days / the line's days, rounded once per line; the whole never more than
    what is still uncredited on the original."""
    out: list[DraftLine] = []
    for line in lines:
        if line.kind == "credit":
            continue
        part = days_of(line)
        if part is None:
            continue
        days = days_inclusive(*part)
        net = credit_pence(line.net_pence, days, line.days)
        if net == 0:
            continue
        what = "Charges waived (hardship)" if reason == "waiver" and line.kind == "charge" else "Credit"
        if line.kind == "waiver":
            what = "Less waiver already given"
        out.append(
            DraftLine(
                kind="credit",
                description=f"{what}, {_period_text(*part)}: {weeks_shown(days)} weeks unused of {original.display_number}",
                period_start=part[0],
                period_end=part[1],
                days=days,
                weeks=weeks_shown(days),
                weekly_pence=line.weekly_pence,
                net_pence=net,
                vat_rate_bp=line.vat_rate_bp,
                vat_pence=vat_pence(net, line.vat_rate_bp),
            )
        )
        out[-1].source_line_id = line.id
    remaining = original.net_pence - already_credited_pence
    total = sum(line.net_pence for line in out)
    if not out or remaining <= 0 or total <= 0:
        return None
    if total > remaining:  # an earlier credit already gave some of these days back
        excess = total - remaining
        out[-1].net_pence -= excess
        out[-1].vat_pence = vat_pence(out[-1].net_pence, out[-1].vat_rate_bp)
    return DraftDocument(
        doc_type="credit_note",
        reason=reason,
        account_id=original.account_id,
        customer_id=original.customer_id,
        connection_id=original.connection_id,
        quarter=original.quarter,
        issue_date=ctx.issue_date,
        due_date=ctx.issue_date,
        vat_treatment=original.vat_treatment,
        payer_name=original.payer_name,
        payer_address=original.payer_address,
        payment_method=original.payment_method,
        lines=out,
        original_id=original.id,
        waiver_id=waiver_id,
        stripe_state="pending" if ctx.stripe and original.stripe_invoice_id else "off",
    )
