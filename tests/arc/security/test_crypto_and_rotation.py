"""Key-safe encryption at rest and key rotation with `lifeline keys rotate`."""

from __future__ import annotations

import argparse

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from arc.commands import CommandError, keys_rotate
from arc.kit.crypto import DataCipher, DecryptError, key_safe_context
from arc.registry.service import read_key_safe, set_key_safe
from tests.factories import create_customer

OLD, NEW = "old-data-key-" + "x" * 40, "new-data-key-" + "y" * 40


def test_round_trip_is_bound_to_its_context_and_detects_tampering():
    cipher = DataCipher(OLD)
    token = cipher.encrypt("code 1234", context="customers.key_safe:1")
    assert token.startswith(f"lk1:{cipher.current_id}:") and "1234" not in token
    assert cipher.decrypt(token, context="customers.key_safe:1") == "code 1234"
    assert cipher.encrypt("code 1234", context="customers.key_safe:1") != token  # fresh nonce
    with pytest.raises(DecryptError):
        cipher.decrypt(token, context="customers.key_safe:2")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(DecryptError):
        cipher.decrypt(tampered, context="customers.key_safe:1")
    with pytest.raises(DecryptError, match="not configured"):
        DataCipher(NEW).decrypt(token, context="customers.key_safe:1")


def test_data_key_falls_back_to_the_secret_key(settings):
    plain = DataCipher.from_settings(settings)
    assert plain.current_id == DataCipher(settings.secret_key.get_secret_value()).current_id
    dedicated = DataCipher.from_settings(settings.model_copy(update={"data_key": SecretStr(NEW)}))
    assert dedicated.current_id == DataCipher(NEW).current_id != plain.current_id


async def test_rotation_re_encrypts_under_the_new_key_and_the_old_key_can_then_go(settings, session, db):
    old_settings = settings.model_copy(update={"data_key": SecretStr(OLD)})
    old = DataCipher.from_settings(old_settings)
    customers = [await create_customer(session) for _ in range(3)]
    for customer in customers:
        set_key_safe(customer, f"code {customer.id}", old)
    await session.commit()

    rotating = settings.model_copy(update={"data_key": SecretStr(NEW), "data_keys_retired": [SecretStr(OLD)]})
    # during the change-over both keys read
    assert read_key_safe(customers[0], DataCipher.from_settings(rotating)) == f"code {customers[0].id}"
    report = await keys_rotate(rotating, argparse.Namespace())
    assert (report["rotated"], report["already_current"], report["unreadable"]) == (3, 0, [])
    again = await keys_rotate(rotating, argparse.Namespace())
    assert (again["rotated"], again["already_current"]) == (0, 3)

    new_only = DataCipher.from_settings(settings.model_copy(update={"data_key": SecretStr(NEW)}))
    for customer in customers:
        await session.refresh(customer)
        assert read_key_safe(customer, new_only) == f"code {customer.id}"
        with pytest.raises(DecryptError):
            read_key_safe(customer, old)
    audit = await session.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'rotate'"))
    assert audit == 2


async def test_rotation_reports_values_no_configured_key_opens(settings, session, db):
    customer = await create_customer(session)
    customer.key_safe_ciphertext = DataCipher("a key nobody has any more " * 2).encrypt(
        "code 1", context=key_safe_context(customer.id)
    )
    await session.commit()
    with pytest.raises(CommandError, match=f"customers \\[{customer.id}\\]"):
        await keys_rotate(settings, argparse.Namespace())
