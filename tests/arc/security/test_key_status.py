"""Admins see where key rotation stands: values per key, how many need rotating, how many are lost."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from arc.kit.crypto import DataCipher, key_safe_context
from arc.registry.keyrotation import rotate_keys
from arc.registry.service import set_key_safe
from tests.factories import create_customer

OLD, NEW = "old-data-key-" + "x" * 40, "new-data-key-" + "y" * 40


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"data_key": SecretStr(NEW), "data_keys_retired": [SecretStr(OLD)]})


async def test_admin_sees_values_per_key_to_rotate_and_unreadable(settings, client_as, session):
    old, new = DataCipher(OLD), DataCipher(NEW)
    customers = [await create_customer(session) for _ in range(4)]
    set_key_safe(customers[0], "code 1", new)
    set_key_safe(customers[1], "code 2", old)
    set_key_safe(customers[2], "code 3", old)
    lost = DataCipher("a key nobody has any more " * 2)
    customers[3].key_safe_ciphertext = lost.encrypt("code 4", context=key_safe_context(customers[3].id))
    await create_customer(session)  # no key safe: not counted
    await session.commit()
    admin = await client_as("admin")

    answer = await admin.get("/api/admin/keys")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["current_key"], body["total"], body["under_current_key"]) == (new.current_id, 4, 1)
    assert (body["to_rotate"], body["unreadable"]) == (2, 1)
    assert [(k["key_id"], k["values"], k["current"], k["configured"]) for k in body["keys"]] == [
        (new.current_id, 1, True, True),
        (old.current_id, 2, False, True),
        (lost.current_id, 1, False, False),
    ]
    assert "code" not in answer.text

    await rotate_keys(session, DataCipher(NEW, [OLD]))
    await session.commit()
    after = (await admin.get("/api/admin/keys")).json()
    assert (after["under_current_key"], after["to_rotate"], after["unreadable"]) == (3, 0, 1)


@pytest.mark.parametrize("role", ["operator", "supervisor", "tec", "finance", "ers"])
async def test_only_admins_see_key_status(client_as, role):
    assert (await (await client_as(role)).get("/api/admin/keys")).status_code == 403
