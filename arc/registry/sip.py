"""SIP Digest credentials of units, read by the SIP edge (Kamailio auth_db) from PostgreSQL.

One unit, one secret, two transports: `lifeline units provision` gives the unit one
password; its Mosquitto hash goes to the broker's password file and its HA1 for the
SIP realm to this table. Only the HA1 is kept (it opens nothing but this realm).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin, TimestampMixin
from devices.credentials import check_cid, sip_ha1


class UnitSipCredential(IdMixin, TimestampMixin, Base):
    """The columns Kamailio's auth_db reads: ``username`` (the cid) and ``ha1``."""

    __tablename__ = "unit_sip_credentials"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    realm: Mapped[str] = mapped_column(String(64))
    ha1: Mapped[str] = mapped_column(String(32))


class UnitLogin(IdMixin, TimestampMixin, Base):
    """When a unit's login (broker + SIP, one secret) was last given and taken; never the secret.
    Its own table, so giving or taking a login never locks the ``units`` row the ingest updates."""

    __tablename__ = "unit_logins"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), unique=True)
    issued_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


async def set_sip_secret(session: AsyncSession, unit_id: int, cid: str, realm: str, password: str) -> None:
    """Store (or replace) the unit's HA1; the edge reads it on the unit's next request."""
    values = {"username": check_cid(cid), "realm": realm, "ha1": sip_ha1(cid, realm, password)}
    statement = insert(UnitSipCredential).values(unit_id=unit_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[UnitSipCredential.unit_id], set_={**values, "updated_at": func.now()}
        )
    )


async def remove_sip_secret(session: AsyncSession, cid: str) -> bool:
    """Drop the unit's SIP login; True if it had one (the edge refuses it from the next request)."""
    result = await session.execute(
        delete(UnitSipCredential).where(UnitSipCredential.username == check_cid(cid))
    )
    return bool(result.rowcount)


async def has_sip_secret(session: AsyncSession, cid: str) -> bool:
    return (
        await session.scalar(select(UnitSipCredential.id).where(UnitSipCredential.username == cid))
        is not None
    )
