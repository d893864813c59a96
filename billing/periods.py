"""Quarters, billable periods and splits: pure date arithmetic, no database.

Dates are Europe/London calendar dates, counted inclusive. A connection is charged from day 43
after installation (day 1 = the install date; the first 42 days are funded by the council) once
its 6-week review has recorded "retained", up to and including the day it was withdrawn. A review
recorded late still bills from day 43; "not retained" is never billed. A period spanning a price
change is split at the change.

Quarters are calendar quarters named ``2027Q2`` (1 April - 30 June 2027); the council's
financial year ``FY 2027`` is 1 April 2027 - 31 March 2028 (quarters 2027Q2..2028Q1).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from billing.money import charge_pence, weeks_shown

LONDON = ZoneInfo("Europe/London")
TRIAL_DAYS = 42
ONE_DAY = timedelta(days=1)
_QUARTER_RE = re.compile(r"^(\d{4})[Qq]([1-4])$")


def london_date(instant: datetime, zone: ZoneInfo = LONDON) -> date:
    """The calendar date in Europe/London of a UTC instant (23:30 UTC on 31 March BST is 1 April)."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no place in billing; pass an aware UTC instant")
    return instant.astimezone(zone).date()


def days_inclusive(start: date, end: date) -> int:
    return (end - start).days + 1


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1 = Jan-Mar, 2 = Apr-Jun, 3 = Jul-Sep, 4 = Oct-Dec

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1900 <= self.year <= 9998:
            raise ValueError(f"no such quarter {self.year}Q{self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER_RE.match(text.strip())
        if not match:
            raise ValueError(f"quarter {text!r} must look like 2027Q2 (Q2 = 1 April - 30 June)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - ONE_DAY

    @property
    def days(self) -> int:
        return days_inclusive(self.start, self.end)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def financial_year(self) -> int:
        """The financial year (1 April - 31 March) this quarter belongs to, by its starting year."""
        return self.year if self.number >= 2 else self.year - 1

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return self.label


def financial_year_quarters(fy: int) -> list[Quarter]:
    """FY 2027 = 2027Q2, 2027Q3, 2027Q4, 2028Q1 (1 April 2027 - 31 March 2028)."""
    first = Quarter(fy, 2)
    return [first, first.next(), first.next().next(), first.next().next().next()]


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    out, q = [], first
    while q <= last:
        out.append(q)
        q = q.next()
    return out


@dataclass(frozen=True)
class Price:
    effective_from: date
    weekly_pence: int


@dataclass(frozen=True)
class ConnectionTerms:
    """What billing reads from the registry about one connection."""

    install_date: date
    retained: bool  # the 6-week review recorded "retained" (the connection was activated)
    withdrawn_on: date | None = None  # the last day of service, inclusive

    def __post_init__(self) -> None:
        if self.withdrawn_on is not None and self.withdrawn_on < self.install_date:
            raise ValueError(f"withdrawn_on {self.withdrawn_on} is before install_date {self.install_date}")


def first_chargeable_day(install_date: date) -> date:
    """Day 43, counting the install date as day 1."""
    return install_date + timedelta(days=TRIAL_DAYS)


def chargeable_span(terms: ConnectionTerms) -> tuple[date, date | None] | None:
    """First and last chargeable day (None = open-ended), or None if the connection is never billed."""
    if not terms.retained:
        return None
    start = first_chargeable_day(terms.install_date)
    if terms.withdrawn_on is not None and terms.withdrawn_on < start:
        return None  # withdrawn within the funded 6 weeks: never invoiced
    return start, terms.withdrawn_on


def overlap(a_start: date, a_end: date, b_start: date, b_end: date) -> tuple[date, date] | None:
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if start <= end else None


@dataclass(frozen=True)
class Segment:
    """Part of a quarter at one weekly price: one document line."""

    start: date
    end: date
    weekly_pence: int
    full_quarter: bool

    @property
    def days(self) -> int:
        return days_inclusive(self.start, self.end)

    @property
    def amount_pence(self) -> int:
        return charge_pence(self.weekly_pence, self.days, full_quarter=self.full_quarter)

    @property
    def weeks(self):
        return weeks_shown(self.days, full_quarter=self.full_quarter)


def check_prices(prices: Sequence[Price]) -> list[Price]:
    """Sorted prices; refuses a missing effective date, a duplicate date or a negative price."""
    for price in prices:
        if price.effective_from is None:
            raise ValueError("a price needs an effective_from date")
        if price.weekly_pence is None or price.weekly_pence < 0:
            raise ValueError("a weekly price must be zero or more pence")
    ordered = sorted(prices, key=lambda p: p.effective_from)
    for a, b in itertools.pairwise(ordered):
        if a.effective_from == b.effective_from:
            raise ValueError(f"two prices take effect on {a.effective_from}")
    return ordered


def split_by_prices(start: date, end: date, prices: Sequence[Price]) -> list[tuple[date, date, int]]:
    """[start, end] cut where a price takes effect: (from, to, weekly pence) pieces."""
    ordered = check_prices(prices)
    pieces: list[tuple[date, date, int]] = []
    for i, price in enumerate(ordered):
        until = ordered[i + 1].effective_from - ONE_DAY if i + 1 < len(ordered) else date.max
        piece = overlap(start, end, price.effective_from, until)
        if piece:
            pieces.append((piece[0], piece[1], price.weekly_pence))
    covered = sum(days_inclusive(a, b) for a, b, _ in pieces)
    if covered != days_inclusive(start, end):
        first = ordered[0].effective_from if ordered else None
        raise ValueError(f"no price in effect on {start} (first price from {first})")
    return pieces


def billable_segments(terms: ConnectionTerms, prices: Sequence[Price], quarter: Quarter) -> list[Segment]:
    """The lines one connection is charged for in ``quarter`` (empty when nothing is due)."""
    span = chargeable_span(terms)
    if span is None:
        return []
    part = overlap(span[0], span[1] or date.max, quarter.start, quarter.end)
    if part is None:
        return []
    pieces = split_by_prices(part[0], part[1], prices)
    return [
        Segment(a, b, weekly, full_quarter=(a, b) == (quarter.start, quarter.end)) for a, b, weekly in pieces
    ]


def check_no_overlap(ranges: Iterable[tuple[date, date]]) -> None:
    """Refuses a range the wrong way round, or two ranges sharing a day."""
    ordered = sorted(ranges)
    for start, end in ordered:
        if end < start:
            raise ValueError(f"range {start} - {end} ends before it starts")
    for (a0, a1), (b0, b1) in itertools.pairwise(ordered):
        if b0 <= a1:
            raise ValueError(f"{a0} - {a1} overlaps {b0} - {b1}")


def waived_segments(segments: Sequence[Segment], waivers: Iterable[tuple[date, date]]) -> list[Segment]:
    """The parts of ``segments`` inside a waiver: each a waiver line (same price, same rounding)."""
    out: list[Segment] = []
    for waiver in sorted(waivers):
        for seg in segments:
            part = overlap(seg.start, seg.end, waiver[0], waiver[1])
            if part:
                out.append(
                    Segment(
                        part[0], part[1], seg.weekly_pence, seg.full_quarter and part == (seg.start, seg.end)
                    )
                )
    return out


def unused_days(line_start: date, line_end: date, withdrawn_on: date) -> int:
    """Days of an invoiced line after the last day of service."""
    part = overlap(line_start, line_end, withdrawn_on + ONE_DAY, date.max)
    return days_inclusive(*part) if part else 0
