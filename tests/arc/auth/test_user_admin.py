"""Admins manage users (create, change role, deactivate, reset password); every change is audited.
`lifeline user add` makes the first admin without a password on the command line."""

from __future__ import annotations

import argparse
import io
import sys

import pytest
from sqlalchemy import select

from arc.audit.models import AuditEntry
from arc.auth.models import User
from arc.commands import CommandError, user_add


async def _login(anon_client, username, password, kind="api"):
    return await anon_client.post(
        "/auth/login", json={"username": username, "password": password, "kind": kind}
    )


async def test_admin_creates_a_user_with_a_password_shown_once(client_as, anon_client, session):
    admin = await client_as("admin")
    created = await admin.post(
        "/api/admin/users", json={"username": "nina", "full_name": "Nina Night", "role": "operator"}
    )
    assert created.status_code == 201, created.text
    password = created.json()["temporary_password"]
    assert len(password) >= 16
    assert (await _login(anon_client, "nina", password)).status_code == 200
    listed = (await admin.get("/api/admin/users")).json()
    assert "temporary_password" not in str(listed) and "password_hash" not in str(listed)
    audit = await session.scalar(
        select(AuditEntry).where(AuditEntry.object_type == "user", AuditEntry.action == "create")
    )
    assert (audit.action, audit.actor_user_id, audit.detail["role"]) == ("create", admin.user.id, "operator")


async def test_weak_or_duplicate_users_are_refused(client_as):
    admin = await client_as("admin")
    weak = await admin.post(
        "/api/admin/users", json={"username": "wes", "full_name": "W", "role": "tec", "password": "short"}
    )
    assert weak.status_code == 422
    assert (
        await admin.post("/api/admin/users", json={"username": "x y", "full_name": "W", "role": "tec"})
    ).status_code == 422
    assert (
        await admin.post("/api/admin/users", json={"username": "wes", "full_name": "W", "role": "chef"})
    ).status_code == 422
    first = await admin.post("/api/admin/users", json={"username": "wes", "full_name": "W", "role": "tec"})
    assert first.status_code == 201
    again = await admin.post("/api/admin/users", json={"username": "WES", "full_name": "W", "role": "tec"})
    assert again.status_code == 409


async def test_role_change_and_deactivation_sign_the_user_out(client_as, session):
    admin = await client_as("admin")
    tec = await client_as("tec")
    changed = await admin.patch(f"/api/admin/users/{tec.user.id}", json={"role": "finance"})
    assert changed.status_code == 200 and changed.json()["role"] == "finance"
    assert (await tec.get("/auth/me")).status_code == 401  # new rights need a new log-in

    finance = await client_as("finance")
    off = await admin.patch(f"/api/admin/users/{finance.user.id}", json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert (await finance.get("/auth/me")).status_code == 401
    actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "user"))).all()
    assert actions == ["update", "deactivate"]


async def test_the_last_admin_cannot_remove_themselves(client_as):
    admin = await client_as("admin")
    refused = await admin.patch(f"/api/admin/users/{admin.user.id}", json={"is_active": False})
    assert refused.status_code == 409 and refused.json()["error"] == "last_admin"
    second = await client_as("admin")
    assert (await second.patch(f"/api/admin/users/{admin.user.id}", json={"role": "tec"})).status_code == 200
    assert (await admin.get("/auth/me")).status_code == 401  # demoted by the other admin: signed out


async def test_no_one_changes_their_own_roles(client_as):
    admin = await client_as("admin")
    await client_as("admin")  # not the last admin: the refusal is about whose account it is
    for change in ({"extra_roles": ["supervisor"]}, {"role": "supervisor"}):
        refused = await admin.patch(f"/api/admin/users/{admin.user.id}", json=change)
        assert refused.status_code == 403 and refused.json()["error"] == "own_roles", refused.text
    assert (await admin.get("/auth/me")).json()["user"]["extra_roles"] == []


async def test_a_clinical_grant_is_flagged_until_another_admin_acknowledges_it(client_as, session):
    ann, bob = await client_as("admin"), await client_as("admin")
    finance = await client_as("finance")
    await ann.patch(f"/api/admin/users/{bob.user.id}", json={"extra_roles": ["supervisor"]})
    await ann.patch(f"/api/admin/users/{finance.user.id}", json={"full_name": "Fin Ance"})  # no grant
    flagged = (await ann.get("/api/admin/grants")).json()
    assert [(g["user_id"], g["granted"], g["granted_by_id"], g["holds_admin"]) for g in flagged] == [
        (bob.user.id, ["supervisor"], ann.user.id, True)
    ]
    grant = flagged[0]["id"]
    assert (await ann.post(f"/api/admin/grants/{grant}/acknowledge")).json()["error"] == "own_grant"
    carl = await client_as("admin")
    assert (await carl.post(f"/api/admin/grants/{grant}/acknowledge")).status_code == 200
    assert (await carl.get("/api/admin/grants")).json() == []
    assert (await carl.post(f"/api/admin/grants/{grant}/acknowledge")).status_code == 409
    created = await carl.post(
        "/api/admin/users", json={"username": "newsup", "full_name": "New Sup", "role": "supervisor"}
    )
    assert [g["user_id"] for g in (await ann.get("/api/admin/grants")).json()] == [
        created.json()["user"]["id"]
    ]


async def test_reset_password_replaces_it_lifts_the_lock_and_signs_out(client_as, anon_client, session):
    admin = await client_as("admin")
    user = await client_as("operator", username="olga")
    for _ in range(5):
        await _login(anon_client, "olga", "wrong guess")
    assert (await _login(anon_client, "olga", "correct horse battery")).status_code == 401  # locked
    reset = await admin.post(f"/api/admin/users/{user.user.id}/reset-password")
    assert reset.status_code == 200
    assert (await user.get("/auth/me")).status_code == 401
    assert (await _login(anon_client, "olga", "correct horse battery")).status_code == 401
    assert (await _login(anon_client, "olga", reset.json()["temporary_password"])).status_code == 200


@pytest.mark.parametrize("role", ["operator", "supervisor", "tec", "finance", "ers"])
async def test_only_admins_manage_users(client_as, role):
    other = await client_as(role)
    assert (
        await other.post("/api/admin/users", json={"username": "z", "full_name": "Z", "role": "admin"})
    ).status_code == 403


async def test_cli_user_add_reads_the_password_from_stdin_never_argv(
    settings, session, monkeypatch, anon_client
):
    monkeypatch.setattr(sys, "stdin", io.StringIO("first admin passphrase\n"))
    args = argparse.Namespace(username="root-admin", role="admin", full_name="First Admin")
    made = await user_add(settings, args)
    assert made["role"] == "admin" and "password" not in made
    user = await session.scalar(select(User).where(User.username == "root-admin"))
    assert user.password_hash.startswith("$argon2id$")
    assert (await _login(anon_client, "root-admin", "first admin passphrase")).status_code == 200


@pytest.mark.parametrize("username", [" op1 x", "a b<script>", "x", "name\twith-tab"])
async def test_cli_user_add_follows_the_apis_username_rules(settings, monkeypatch, username):
    monkeypatch.setattr(sys, "stdin", io.StringIO("first admin passphrase\n"))
    args = argparse.Namespace(username=username, role="admin", full_name="First Admin")
    with pytest.raises(CommandError, match="username"):
        await user_add(settings, args)


async def test_cli_user_add_trims_like_the_api(settings, session, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("first admin passphrase\n"))
    made = await user_add(settings, argparse.Namespace(username=" op1 ", role="operator", full_name=None))
    assert made["username"] == "op1"
    assert await session.scalar(select(User.full_name).where(User.username == "op1")) == "op1"


def test_cli_has_no_password_option():
    from arc.cli import EXTRA_COMMANDS

    parser = argparse.ArgumentParser()
    EXTRA_COMMANDS["user"][1](parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["add", "--username", "a", "--role", "admin", "--password", "x"])


async def test_after_a_reset_the_user_must_choose_a_new_password_before_anything_else(
    client_as, anon_client, session
):
    admin = await client_as("admin")
    olga = await client_as("operator", username="olga")
    temporary = (await admin.post(f"/api/admin/users/{olga.user.id}/reset-password")).json()[
        "temporary_password"
    ]
    login = await _login(anon_client, "olga", temporary)
    assert login.status_code == 200 and login.json()["must_change_password"] is True
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    refused = await anon_client.get("/api/alarms/queue", headers=headers)
    assert refused.status_code == 403 and refused.json()["error"] == "password_change_required"
    me = await anon_client.get("/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    changed = await anon_client.post(
        "/auth/password",
        headers=headers,
        json={"current_password": temporary, "new_password": "my own long passphrase 7"},
    )
    assert changed.status_code == 204, changed.text
    assert (await anon_client.get("/api/alarms/queue", headers=headers)).status_code == 200
    assert (await anon_client.get("/auth/me", headers=headers)).json()["must_change_password"] is False
    again = await _login(anon_client, "olga", "my own long passphrase 7")
    assert again.json()["must_change_password"] is False
    # an admin making a user (or the user changing it themselves) sets no such demand
    created = await admin.post("/api/admin/users", json={"username": "nina", "full_name": "N", "role": "tec"})
    nina = await _login(anon_client, "nina", created.json()["temporary_password"])
    assert nina.json()["must_change_password"] is False
    assert (await anon_client.post("/auth/logout", headers=headers)).status_code == 204
