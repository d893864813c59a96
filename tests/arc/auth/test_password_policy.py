"""New passwords: long enough, printable, not one character repeated, not from a breached-password list
(shipped with the package: arc/auth/data), not the username."""

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


@pytest.mark.parametrize(
    "password", ["password1234", "Password1234!", "qwertyuiop12", "iloveyou2024!!", "monkeymonkeymonkey"]
)
def test_breached_passwords_and_them_with_digits_added_are_refused(password):
    assert "too common" in (password_problem(password) or "")


async def test_the_api_refuses_a_common_password_and_the_username_as_password(client_as):
    admin = await client_as("admin")
    for username, password in [("newop", "password1234"), ("longusername1", "longusername1")]:
        made = await admin.post(
            "/api/admin/users",
            json={"username": username, "full_name": "New Op", "role": "operator", "password": password},
        )
        assert made.status_code == 422 and made.json()["field"] == "password", made.text
