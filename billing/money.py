"""The one rounding rule (docs: DESIGN.md "Billing arithmetic"), in integer pence.

- Full quarter: 13 x the weekly charge, whatever the quarter's day count.
- Part quarter: weekly x days / 7, days counted as calendar dates, inclusive.
- Credit: invoiced x unused days / days in the invoiced period; never more than invoiced.
- Each line is rounded once, half-up to the penny; totals are sums of lines.
- Weeks shown on a document: days / 7 to two decimals (13.00 for a full quarter).

Everything here is exact integer arithmetic: no float ever touches money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WEEKS_IN_QUARTER = 13
DAYS_IN_WEEK = 7


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero (half-up for money)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    whole, rest = divmod(abs(numerator), denominator)
    return sign * (whole + (1 if 2 * rest >= denominator else 0))


def charge_pence(weekly_pence: int, days: int, *, full_quarter: bool = False) -> int:
    """The charge of one line: 13 x weekly for a whole quarter, else weekly x days / 7 rounded once."""
    if weekly_pence < 0 or days < 0:
        raise ValueError("weekly charge and days cannot be negative")
    if full_quarter:
        return WEEKS_IN_QUARTER * weekly_pence
    return round_half_up(weekly_pence * days, DAYS_IN_WEEK)


def credit_pence(invoiced_pence: int, unused_days: int, period_days: int) -> int:
    """Credit for ``unused_days`` of a line that charged ``invoiced_pence`` for ``period_days``.

    Rounded once; clamped so a credit never exceeds what was invoiced (in size, same sign)."""
    if period_days <= 0:
        raise ValueError("an invoiced period has at least one day")
    unused_days = max(0, min(unused_days, period_days))
    credit = round_half_up(invoiced_pence * unused_days, period_days)
    return max(-abs(invoiced_pence), min(abs(invoiced_pence), credit)) if invoiced_pence else 0


def weeks_shown(days: int, *, full_quarter: bool = False) -> Decimal:
    """Weeks as printed on a document: days / 7 to two decimals; a full quarter is 13.00."""
    if full_quarter:
        return Decimal(WEEKS_IN_QUARTER).quantize(Decimal("0.01"))
    return (Decimal(days) / DAYS_IN_WEEK).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def vat_pence(net_pence: int, rate_basis_points: int) -> int:
    """VAT of one line (rate in basis points: 2000 = 20%), rounded once half-up."""
    return round_half_up(net_pence * rate_basis_points, 10_000)


def pounds(pence: int) -> str:
    """Pence as pounds with two decimals, no symbol or separators (exports): -1234 -> '-12.34'."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def money(pence: int) -> str:
    """Pence for people: £1,234.56 (a credit shows as -£12.34)."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def parse_pounds(text: str) -> int:
    """'5', '5.00' or '£5.00' -> 500 pence; refuses fractions of a penny and negatives."""
    cleaned = text.strip().lstrip("£").replace(",", "")
    try:
        value = Decimal(cleaned)
    except ArithmeticError as exc:
        raise ValueError(f"{text!r} is not an amount in pounds") from exc
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{text!r} must be a positive amount in whole pence")
    return int(value * 100)
