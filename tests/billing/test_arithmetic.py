"""The one rounding rule and the billable periods, at every edge the council named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.money import (
    charge_pence,
    credit_pence,
    money,
    parse_pounds,
    pounds,
    round_half_up,
    vat_pence,
    weeks_shown,
)
from billing.periods import (
    ConnectionTerms,
    Price,
    Quarter,
    billable_segments,
    check_no_overlap,
    financial_year_quarters,
    first_chargeable_day,
    london_date,
    split_by_prices,
    unused_days,
    waived_segments,
)

FIVE = [Price(date(2020, 1, 1), 500)]


def retained(install: date, withdrawn: date | None = None) -> ConnectionTerms:
    return ConnectionTerms(install_date=install, retained=True, withdrawn_on=withdrawn)


def total(segments) -> int:
    return sum(s.amount_pence for s in segments)


# --- rounding -------------------------------------------------------------------------------


def test_half_pennies_round_up_and_negative_halves_round_away_from_zero():
    assert round_half_up(5, 2) == 3  # 2.5p -> 3p
    assert round_half_up(7, 2) == 4
    assert round_half_up(-5, 2) == -3
    assert round_half_up(4, 3) == 1  # 1.33 -> 1
    assert round_half_up(5, 3) == 2  # 1.67 -> 2


def test_full_quarter_is_thirteen_weeks_whatever_its_length():
    for q in (Quarter(2027, 1), Quarter(2027, 2), Quarter(2027, 3), Quarter(2028, 1)):
        (seg,) = billable_segments(retained(date(2020, 1, 1)), FIVE, q)
        assert seg.full_quarter and seg.amount_pence == 6500 and seg.weeks == Decimal("13.00")
    assert {Quarter(2027, n).days for n in (1, 2, 3, 4)} == {90, 91, 92}
    assert Quarter(2028, 1).days == 91  # leap year Q1


def test_part_quarter_is_weekly_times_days_over_seven_rounded_once():
    assert charge_pence(500, 1) == 71  # 71.43
    assert charge_pence(500, 3) == 214  # 214.29
    assert charge_pence(500, 10) == 714  # 714.29
    assert charge_pence(500, 7) == 500
    assert charge_pence(350, 1) == 50
    assert charge_pence(7, 1) == 1 and charge_pence(7, 3) == 3
    assert charge_pence(1, 4) == 1  # 0.571 -> 1
    assert charge_pence(1, 3) == 0  # 0.428 -> 0
    assert weeks_shown(10) == Decimal("1.43") and weeks_shown(1) == Decimal("0.14")


def test_credit_is_invoiced_times_unused_over_period_and_never_more():
    assert credit_pence(6500, 91, 91) == 6500
    assert credit_pence(6500, 45, 91) == 3214  # 3214.28
    assert credit_pence(6500, 200, 91) == 6500  # clamped
    assert credit_pence(6500, 0, 91) == 0
    assert credit_pence(-1000, 45, 91) == -495  # a waiver line credits back in proportion
    with pytest.raises(ValueError):
        credit_pence(100, 1, 0)


@given(
    invoiced=st.integers(min_value=0, max_value=10_000_000),
    period=st.integers(min_value=1, max_value=400),
    unused=st.integers(min_value=-5, max_value=500),
)
def test_a_credit_never_exceeds_what_was_invoiced(invoiced, period, unused):
    credit = credit_pence(invoiced, unused, period)
    assert 0 <= credit <= invoiced


@given(
    weekly=st.integers(min_value=0, max_value=100_000),
    days=st.integers(min_value=0, max_value=92),
)
def test_a_part_quarter_is_within_half_a_penny_of_the_exact_charge(weekly, days):
    exact = weekly * days / 7
    assert abs(charge_pence(weekly, days) - exact) <= 0.5 + 1e-9


def test_vat_and_formatting():
    assert vat_pence(6500, 2000) == 1300
    assert vat_pence(71, 2000) == 14  # 14.2
    assert vat_pence(72, 2000) == 14  # 14.4
    assert vat_pence(73, 2000) == 15  # 14.6
    assert pounds(6500) == "65.00" and pounds(-3214) == "-32.14" and pounds(7) == "0.07"
    assert money(7026500) == "£70,265.00" and money(-5) == "-£0.05"
    assert parse_pounds("£5.00") == 500 and parse_pounds("5") == 500
    for bad in ("5.001", "-1", "five", "NaN"):
        with pytest.raises(ValueError):
            parse_pounds(bad)


# --- quarters and dates ---------------------------------------------------------------------


def test_quarters_start_on_the_councils_dates():
    assert Quarter.parse("2027Q2").start == date(2027, 4, 1)
    assert Quarter.parse("2027q2").end == date(2027, 6, 30)
    assert Quarter.parse("2027Q3").start == date(2027, 7, 1)
    assert Quarter.parse("2027Q4").start == date(2027, 10, 1)
    assert Quarter.parse("2028Q1").start == date(2028, 1, 1)
    assert Quarter(2027, 4).next() == Quarter(2028, 1) and Quarter(2028, 1).previous() == Quarter(2027, 4)
    assert [q.label for q in financial_year_quarters(2027)] == ["2027Q2", "2027Q3", "2027Q4", "2028Q1"]
    assert Quarter(2028, 1).financial_year == 2027 and Quarter(2027, 2).financial_year == 2027
    for bad in ("2027Q5", "2027-Q2", "Q2", "", "27Q1"):
        with pytest.raises(ValueError, match="quarter"):
            Quarter.parse(bad)


def test_dates_are_london_calendar_dates_across_the_clock_changes():
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: a new quarter in London
    assert london_date(datetime(2027, 6, 30, 23, 30, tzinfo=UTC)) == date(2027, 7, 1)
    assert Quarter.containing(london_date(datetime(2027, 6, 30, 23, 30, tzinfo=UTC))) == Quarter(2027, 3)
    # 23:30 UTC on 31 December is still 31 December in GMT
    assert london_date(datetime(2027, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 12, 31)
    with pytest.raises(ValueError):
        london_date(datetime(2027, 1, 1))  # naive
    # a part period across the March change (28 March 2027) counts calendar days, not hours
    install = date(2027, 1, 15)  # day 43 = 26 Feb
    (seg,) = billable_segments(retained(install), FIVE, Quarter(2027, 1))
    assert (seg.start, seg.end, seg.days) == (date(2027, 2, 26), date(2027, 3, 31), 34)
    assert seg.amount_pence == charge_pence(500, 34) == 2429
    # ... and across the October change (31 October 2027)
    (seg,) = billable_segments(retained(date(2027, 8, 20)), FIVE, Quarter(2027, 4))
    assert (seg.start, seg.days) == (date(2027, 10, 1), 92) and seg.full_quarter


# --- the 6-week trial, review and withdrawal --------------------------------------------------


def test_day_43_is_the_first_chargeable_day():
    assert first_chargeable_day(date(2027, 4, 1)) == date(2027, 5, 13)
    assert (date(2027, 5, 13) - date(2027, 4, 1)).days + 1 == 43


def test_install_on_a_quarters_first_day_bills_from_day_43_to_quarter_end():
    (seg,) = billable_segments(retained(date(2027, 4, 1)), FIVE, Quarter(2027, 2))
    assert (seg.start, seg.end, seg.days, seg.full_quarter) == (
        date(2027, 5, 13),
        date(2027, 6, 30),
        49,
        False,
    )
    assert seg.amount_pence == 3500 and seg.weeks == Decimal("7.00")
    (nxt,) = billable_segments(retained(date(2027, 4, 1)), FIVE, Quarter(2027, 3))
    assert nxt.full_quarter and nxt.amount_pence == 6500


def test_install_on_a_quarters_last_day_is_free_until_day_43_in_the_next_quarter():
    terms = retained(date(2027, 6, 30))
    assert billable_segments(terms, FIVE, Quarter(2027, 2)) == []
    (seg,) = billable_segments(terms, FIVE, Quarter(2027, 3))
    assert seg.start == date(2027, 8, 11) and seg.end == date(2027, 9, 30) and seg.days == 51
    assert seg.amount_pence == charge_pence(500, 51) == 3643


def test_trial_ending_mid_quarter_is_charged_for_the_rest_of_the_quarter_only():
    (seg,) = billable_segments(retained(date(2027, 5, 20)), FIVE, Quarter(2027, 3))
    assert seg.start == date(2027, 7, 1) and seg.full_quarter  # day 43 = 1 July exactly
    (seg,) = billable_segments(retained(date(2027, 5, 21)), FIVE, Quarter(2027, 3))
    assert seg.start == date(2027, 7, 2) and not seg.full_quarter and seg.days == 91
    assert seg.amount_pence == 6500  # 91 days / 7 = 13 weeks exactly


def test_not_retained_is_never_billed():
    terms = ConnectionTerms(install_date=date(2027, 4, 1), retained=False, withdrawn_on=date(2027, 5, 12))
    assert all(billable_segments(terms, FIVE, q) == [] for q in financial_year_quarters(2027))


def test_review_not_yet_recorded_bills_nothing_and_a_late_review_still_bills_from_day_43():
    pending = ConnectionTerms(install_date=date(2027, 4, 1), retained=False)
    assert billable_segments(pending, FIVE, Quarter(2027, 2)) == []
    late = ConnectionTerms(install_date=date(2027, 4, 1), retained=True)  # recorded in August
    (seg,) = billable_segments(late, FIVE, Quarter(2027, 2))
    assert seg.start == date(2027, 5, 13)


def test_withdrawal_on_day_42_is_never_billed_and_day_43_bills_one_day():
    install = date(2027, 4, 1)
    day42 = install + timedelta(days=41)
    assert billable_segments(retained(install, day42), FIVE, Quarter(2027, 2)) == []
    (seg,) = billable_segments(retained(install, day42 + timedelta(days=1)), FIVE, Quarter(2027, 2))
    assert seg.days == 1 and seg.amount_pence == 71


def test_withdrawal_before_install_is_refused():
    with pytest.raises(ValueError, match="before install_date"):
        ConnectionTerms(install_date=date(2027, 4, 1), retained=True, withdrawn_on=date(2027, 3, 31))


def test_withdrawal_mid_quarter_credit_is_exact_to_the_penny():
    # invoiced a full 2027Q3 (£65.00, 92 days); withdrawn 15 August: 16 Aug - 30 Sep unused = 46 days
    unused = unused_days(date(2027, 7, 1), date(2027, 9, 30), date(2027, 8, 15))
    assert unused == 46
    assert credit_pence(6500, unused, 92) == 3250
    assert unused_days(date(2027, 7, 1), date(2027, 9, 30), date(2027, 6, 1)) == 92  # all unused
    assert unused_days(date(2027, 7, 1), date(2027, 9, 30), date(2027, 9, 30)) == 0


def test_leap_day_counts_as_a_day():
    (seg,) = billable_segments(retained(date(2027, 12, 1)), FIVE, Quarter(2028, 1))
    # day 43 = 12 Jan 2028; to 31 March 2028 with 29 February = 80 days
    assert seg.start == date(2028, 1, 12) and seg.days == 80
    assert seg.amount_pence == charge_pence(500, 80) == 5714
    (seg,) = billable_segments(retained(date(2026, 12, 1)), FIVE, Quarter(2027, 1))
    assert seg.days == 79


# --- prices and waivers ---------------------------------------------------------------------


def test_a_price_change_mid_quarter_splits_the_period():
    prices = [Price(date(2020, 1, 1), 500), Price(date(2027, 8, 1), 550)]
    segs = billable_segments(retained(date(2020, 1, 1)), prices, Quarter(2027, 3))
    assert [(s.start, s.end, s.weekly_pence, s.days) for s in segs] == [
        (date(2027, 7, 1), date(2027, 7, 31), 500, 31),
        (date(2027, 8, 1), date(2027, 9, 30), 550, 61),
    ]
    assert [s.amount_pence for s in segs] == [2214, 4793]  # 2214.29, 4792.86
    assert total(segs) == 7007


def test_a_price_change_on_a_quarter_start_keeps_thirteen_weeks():
    prices = [Price(date(2020, 1, 1), 500), Price(date(2027, 10, 1), 550)]
    (seg,) = billable_segments(retained(date(2020, 1, 1)), prices, Quarter(2027, 4))
    assert seg.full_quarter and seg.amount_pence == 13 * 550


def test_no_price_in_effect_or_without_a_date_is_refused():
    with pytest.raises(ValueError, match="no price in effect"):
        split_by_prices(date(2019, 12, 1), date(2019, 12, 31), FIVE)
    with pytest.raises(ValueError, match="effective_from"):
        split_by_prices(date(2027, 1, 1), date(2027, 1, 2), [Price(None, 500)])
    with pytest.raises(ValueError, match="two prices"):
        split_by_prices(
            date(2027, 1, 1), date(2027, 1, 2), [Price(date(2027, 1, 1), 5), Price(date(2027, 1, 1), 6)]
        )


def test_waivers_over_a_quarter_edge_waive_each_quarters_part():
    waiver = [(date(2027, 6, 20), date(2027, 7, 10))]
    terms = retained(date(2020, 1, 1))
    q2 = billable_segments(terms, FIVE, Quarter(2027, 2))
    q3 = billable_segments(terms, FIVE, Quarter(2027, 3))
    (w2,) = waived_segments(q2, waiver)
    (w3,) = waived_segments(q3, waiver)
    assert (w2.start, w2.end, w2.days, w2.amount_pence) == (date(2027, 6, 20), date(2027, 6, 30), 11, 786)
    assert (w3.start, w3.end, w3.days, w3.amount_pence) == (date(2027, 7, 1), date(2027, 7, 10), 10, 714)


def test_a_waiver_of_a_whole_quarter_cancels_it_exactly():
    terms = retained(date(2020, 1, 1))
    segs = billable_segments(terms, FIVE, Quarter(2027, 3))
    (w,) = waived_segments(segs, [(date(2027, 6, 1), date(2027, 12, 31))])
    assert w.full_quarter and w.amount_pence == total(segs)


def test_overlapping_waivers_are_refused():
    check_no_overlap([(date(2027, 1, 1), date(2027, 1, 31)), (date(2027, 2, 1), date(2027, 2, 5))])
    with pytest.raises(ValueError, match="overlaps"):
        check_no_overlap([(date(2027, 1, 1), date(2027, 1, 31)), (date(2027, 1, 31), date(2027, 2, 5))])
    with pytest.raises(ValueError, match="ends before"):
        check_no_overlap([(date(2027, 2, 1), date(2027, 1, 1))])


@given(
    install=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=800),
)
def test_segments_cover_exactly_the_chargeable_days(install, length):
    withdrawn = install + timedelta(days=length)
    terms = retained(install, withdrawn)
    quarters = [Quarter.containing(install)]
    while quarters[-1].end < withdrawn:
        quarters.append(quarters[-1].next())
    segs = [s for q in quarters for s in billable_segments(terms, FIVE, q)]
    charged_days = sum(s.days for s in segs)
    assert charged_days == max(0, length + 1 - 42)
    assert all(s.start >= first_chargeable_day(install) and s.end <= withdrawn for s in segs)
