"""Migration 0003 encrypts key-safe text that was stored in plain text before it, and drops the column."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command

from arc import migrate
from arc.kit.crypto import DataCipher, key_safe_context
from arc.kit.settings import Settings


@pytest.fixture
async def scratch_db(database_url):
    parts = urlsplit(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    name = f"lifeline_mig_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(urlunsplit(parts))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_plaintext_key_safe_is_encrypted_by_the_upgrade_and_restored_by_the_downgrade(scratch_db):
    await migrate.upgrade(scratch_db, "0001")
    conn = await asyncpg.connect(scratch_db)
    try:
        customer_id = await conn.fetchval(
            "INSERT INTO customers (given_name, family_name, address_line1, postcode, key_safe_info) "
            "VALUES ('A', 'B', '1 C St', 'CB1 1AA', 'code 2468') RETURNING id"
        )
        await migrate.upgrade(scratch_db, "0003")
        columns = {
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'"
            )
        }
        assert "key_safe_info" not in columns
        token = await conn.fetchval("SELECT key_safe_ciphertext FROM customers WHERE id = $1", customer_id)
        assert "2468" not in token
        cipher = DataCipher.from_settings(Settings())  # the key the migration used
        assert cipher.decrypt(token, context=key_safe_context(customer_id)) == "code 2468"

        await asyncio.to_thread(command.downgrade, migrate.alembic_config(scratch_db), "0001")
        assert (
            await conn.fetchval("SELECT key_safe_info FROM customers WHERE id = $1", customer_id)
            == "code 2468"
        )
    finally:
        await conn.close()
