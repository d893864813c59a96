"""New passwords: long enough, printable, not one character repeated."""

from __future__ import annotations

import pytest

from arc.auth.passwords import password_problem


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        ("\x00" * 16, "control characters"),
        ("tab\tinside-a-password", "control characters"),
        ("aaaaaaaaaaaaaaaa", "4 different"),
        (" leading space ok?", "spaces"),
    ],
)
def test_weak_or_unprintable_passwords_are_refused_with_a_reason(password, problem):
    assert problem in (password_problem(password) or "")


def test_a_long_passphrase_is_accepted():
    assert password_problem("correct horse battery staple") is None
