"""Nominated responders' availability windows, in Europe/London local time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from arc.dispatch.plan import available_now
from arc.dispatch.states import allowed

LONDON = ZoneInfo("Europe/London")
WEEKDAY_MORNINGS = [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "09:00"}]
FRIDAY_NIGHTS = [{"days": [4], "start": "22:00", "end": "06:00"}]


@pytest.mark.parametrize(
    ("windows", "utc", "expected"),
    [
        ([], datetime(2026, 11, 22, 3, 0, tzinfo=UTC), True),  # no windows: any time
        (WEEKDAY_MORNINGS, datetime(2026, 11, 23, 8, 30, tzinfo=UTC), True),  # Monday, GMT
        (WEEKDAY_MORNINGS, datetime(2026, 11, 22, 8, 30, tzinfo=UTC), False),  # Sunday
        (WEEKDAY_MORNINGS, datetime(2026, 11, 23, 9, 0, tzinfo=UTC), False),  # the end is exclusive
        # summer: 07:30 UTC is 08:30 in London (BST), inside the window; 08:30 UTC is 09:30, outside
        (WEEKDAY_MORNINGS, datetime(2026, 7, 1, 7, 30, tzinfo=UTC), True),
        (WEEKDAY_MORNINGS, datetime(2026, 7, 1, 8, 30, tzinfo=UTC), False),
        (FRIDAY_NIGHTS, datetime(2026, 11, 27, 23, 0, tzinfo=UTC), True),  # Friday 23:00
        (FRIDAY_NIGHTS, datetime(2026, 11, 28, 5, 59, tzinfo=UTC), True),  # into Saturday morning
        (FRIDAY_NIGHTS, datetime(2026, 11, 28, 6, 0, tzinfo=UTC), False),
        (FRIDAY_NIGHTS, datetime(2026, 11, 28, 23, 0, tzinfo=UTC), False),  # Saturday night
        ([{"days": [6], "start": "25:00"}], datetime(2026, 11, 22, 12, 0, tzinfo=UTC), False),  # malformed
    ],
)
def test_responder_is_available_inside_london_local_windows(windows, utc, expected):
    assert available_now(windows, utc, LONDON) is expected


@pytest.mark.parametrize(
    ("current", "new", "ok"),
    [
        ("requested", "accepted", True),
        ("requested", "arrived", True),  # "I'm here" implies accepted and travelled
        ("accepted", "en_route", True),
        ("arrived", "en_route", False),  # never backwards
        ("done", "accepted", False),
        ("declined", "accepted", False),
        ("escalated", "accepted", True),  # late help is still help
        ("requested", "no_answer", True),
        ("accepted", "no_answer", False),
        ("en_route", "declined", True),
        ("arrived", "cancelled", True),
        ("done", "cancelled", False),
        ("accepted", "escalated", False),  # only an unanswered request escalates
        ("accepted", "requested", False),
    ],
)
def test_task_state_machine(current, new, ok):
    assert allowed(current, new) is ok
