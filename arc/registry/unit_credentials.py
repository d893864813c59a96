"""Giving a unit its login and taking it away: one secret for the broker and the SIP edge.

Used by the admin page (``arc/registry/credentials_api.py``) and ``lifeline units provision|revoke``.
The secret is made here, written as a Mosquitto login (``arc.registry.broker_logins``) and as the
SIP HA1 (``arc.registry.sip``), shown once to whoever asked, and never stored in clear or logged;
``unit_logins`` keeps only *when* it was given and taken, and an audit row says who. Two changes
to one unit's login run one after the other (a transaction advisory lock on the cid); the
``units`` row itself is never locked, so the ingest is not held up while the broker answers.

Nothing half-written: the database changes (HA1, times, audit) are flushed first, then the broker
is changed, then the caller's transaction commits. A broker that is away or refuses raises
``AppError`` 503 ``broker_unavailable`` and the transaction rolls back, so the HA1 row is not kept
without the broker login (and a revoke keeps both). The one gap left: the database failing at the
very COMMIT after the broker took the change — then the broker has a login nobody was shown (or
has already dropped one the database still lists); the request fails and doing it again mends both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import Request
from sqlalchemy import Select, and_, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from arc.audit.service import Actor, record
from arc.kit.errors import AppError, Conflict, ErrorCode, NotFound
from arc.registry.broker_logins import BrokerLogins, BrokerUnavailable
from arc.registry.sip import UnitLogin, UnitSipCredential, remove_sip_secret, set_sip_secret
from arc.registry.units import Unit
from devices import credentials

State = Literal["active", "revoked", "none"]


@dataclass
class Issued:
    cid: str
    unit_id: int
    password: str
    issued_at: datetime
    broker: str
    reload_needed: bool


@dataclass
class Revoked:
    cid: str
    had_login: bool
    revoked_at: datetime
    broker: str
    reload_needed: bool


def usable(logins: BrokerLogins | None) -> BrokerLogins:
    if logins is None:
        raise Conflict(
            "this service cannot change the broker's logins: set LIFELINE_BROKER_CREDENTIALS=dynsec "
            "(Mosquitto's dynamic security plugin) or the password-file paths, or run "
            "`lifeline units provision` on the broker's host",
            code=ErrorCode.BROKER_LOGINS_UNMANAGED,
        )
    return logins


async def _on_broker(step):
    try:
        return await step
    except BrokerUnavailable as exc:  # the transaction rolls back: no HA1 without the login
        raise AppError(
            f"{exc} — nothing was changed; try again", code=ErrorCode.BROKER_UNAVAILABLE, status_code=503
        ) from exc


async def _unit_id(session: AsyncSession, cid: str) -> int | None:
    """The unit's id, with this transaction holding the lock on changes to its login."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"unit-login:{cid}"}
    )
    return await session.scalar(select(Unit.id).where(Unit.cid == cid))


async def _stamp(session: AsyncSession, unit_id: int, **times: datetime | None) -> None:
    statement = insert(UnitLogin).values(unit_id=unit_id, **times)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[UnitLogin.unit_id], set_={**times, "updated_at": func.now()}
        )
    )


async def provision(
    session: AsyncSession,
    logins: BrokerLogins | None,
    cid: str,
    *,
    realm: str,
    now: datetime,
    actor: Actor | str,
    request: Request | None = None,
) -> Issued:
    """A new secret for ``cid`` (replacing any earlier one on both transports); returned once."""
    logins = usable(logins)
    unit_id = await _unit_id(session, credentials.check_cid(cid))
    if unit_id is None:
        raise NotFound(f"unit {cid} is not registered; register it first (POST /api/units)")
    password = credentials.generate_password()
    await set_sip_secret(session, unit_id, cid, realm, password)
    await _stamp(session, unit_id, issued_at=now, revoked_at=None)
    detail = {"unit_id": unit_id, "broker": logins.kind}
    await record(
        session,
        actor=actor,
        action="provision",
        object_type="unit_credentials",
        object_id=cid,
        request=request,
        detail=detail,
    )
    await session.flush()  # the database has taken it before the broker changes
    await _on_broker(logins.give(cid, password))
    return Issued(cid, unit_id, password, now, logins.kind, logins.reload_needed)


async def revoke(
    session: AsyncSession,
    logins: BrokerLogins | None,
    cid: str,
    *,
    now: datetime,
    actor: Actor | str,
    request: Request | None = None,
    registered_only: bool = True,
) -> Revoked:
    """``cid`` can no longer log in (broker and SIP). ``registered_only=False`` (the CLI): also a
    login left behind by a unit no longer in the registry."""
    logins = usable(logins)
    unit_id = await _unit_id(session, credentials.check_cid(cid))
    if unit_id is None and registered_only:
        raise NotFound(f"unit {cid} is not registered")
    had_sip = await remove_sip_secret(session, cid)
    if unit_id is not None:
        await _stamp(session, unit_id, revoked_at=now)
    await record(
        session,
        actor=actor,
        action="revoke",
        object_type="unit_credentials",
        object_id=cid,
        request=request,
        detail={"unit_id": unit_id, "broker": logins.kind},
    )
    await session.flush()
    had_login = await _on_broker(logins.take(cid))
    return Revoked(cid, had_login or had_sip, now, logins.kind, logins.reload_needed)


# --- which units have a login ---------------------------------------------------------------------

_ACTIVE = and_(UnitLogin.issued_at.is_not(None), UnitLogin.revoked_at.is_(None))
_STATE = {
    "active": _ACTIVE,
    "revoked": UnitLogin.revoked_at.is_not(None),
    "none": and_(UnitLogin.issued_at.is_(None), UnitLogin.revoked_at.is_(None)),
}


def state_of(issued_at: datetime | None, revoked_at: datetime | None) -> State:
    if revoked_at is not None:
        return "revoked"
    return "active" if issued_at is not None else "none"


def _listing(cid_prefix: str | None, state: State | None) -> Select:
    stmt = (
        select(Unit.cid, Unit.id, Unit.model, UnitLogin.issued_at, UnitLogin.revoked_at, UnitSipCredential.id)
        .outerjoin(UnitLogin, UnitLogin.unit_id == Unit.id)
        .outerjoin(UnitSipCredential, UnitSipCredential.unit_id == Unit.id)
    )
    if cid_prefix:
        stmt = stmt.where(Unit.cid.startswith(cid_prefix, autoescape=True))
    if state:
        stmt = stmt.where(_STATE[state])
    return stmt


async def list_credentials(
    session: AsyncSession, *, cid_prefix: str | None, state: State | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """Units with when their login was given / taken, most recently changed first."""
    stmt = _listing(cid_prefix, state)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    changed = func.greatest(UnitLogin.issued_at, UnitLogin.revoked_at)
    rows = await session.execute(
        stmt.order_by(changed.desc().nulls_last(), Unit.cid).limit(limit).offset(offset)
    )
    items = [
        {
            "cid": cid,
            "unit_id": unit_id,
            "model": model,
            "state": state_of(issued_at, revoked_at),
            "issued_at": issued_at,
            "revoked_at": revoked_at,
            "sip": sip_id is not None,
        }
        for cid, unit_id, model, issued_at, revoked_at, sip_id in rows
    ]
    return items, int(total or 0)
