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
