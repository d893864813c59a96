"""Key rotation: re-encrypt every encrypted value under the current data key."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.crypto import DataCipher, DecryptError, key_safe_context
from arc.registry.models import Customer


@dataclass
class RotationReport:
    current_key: str
    rotated: int = 0
    already_current: int = 0
    unreadable: list[int] = field(default_factory=list)  # customer ids whose value no configured key opens


async def rotate_keys(session: AsyncSession, cipher: DataCipher, *, batch: int = 500) -> RotationReport:
    """Re-encrypt key-safe values not written by the current key. Flushes; the caller commits."""
    report = RotationReport(current_key=cipher.current_id)
    last_id = 0
    while True:
        rows = (
            await session.scalars(
                select(Customer)
                .where(Customer.key_safe_ciphertext.is_not(None), Customer.id > last_id)
                .order_by(Customer.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return report
        for customer in rows:
            last_id = customer.id
            token = customer.key_safe_ciphertext
            if cipher.is_current(token):
                report.already_current += 1
                continue
            context = key_safe_context(customer.id)
            try:
                plaintext = cipher.decrypt(token, context=context)
            except DecryptError:
                report.unreadable.append(customer.id)
                continue
            customer.key_safe_ciphertext = cipher.encrypt(plaintext, context=context)
            report.rotated += 1
        await session.flush()


@dataclass
class KeyStatus:
    """How the stored key-safe values stand against the configured keys (no value leaves here)."""

    current_key: str
    by_key: dict[str, int] = field(default_factory=dict)  # key id -> values written under it
    unreadable: int = 0  # values no configured key opens (removed key, tampered or moved)
    to_rotate: int = 0  # readable values under a retired key
    total: int = 0


async def key_status(session: AsyncSession, cipher: DataCipher, *, batch: int = 500) -> KeyStatus:
    """Count the key-safe values per key id and try each one, so a value that would be lost at
    the next rotation shows before it is needed. Reads only."""
    status = KeyStatus(current_key=cipher.current_id)
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(Customer.id, Customer.key_safe_ciphertext)
                .where(Customer.key_safe_ciphertext.is_not(None), Customer.id > last_id)
                .order_by(Customer.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return status
        for customer_id, token in rows:
            last_id = customer_id
            status.total += 1
            parts = token.split(":", 2)
            kid = parts[1] if len(parts) == 3 else "unknown"
            status.by_key[kid] = status.by_key.get(kid, 0) + 1
            try:
                cipher.decrypt(token, context=key_safe_context(customer_id))
            except DecryptError:
                status.unreadable += 1
                continue
            if not cipher.is_current(token):
                status.to_rotate += 1
