"""Showing key-safe information: the code that opens a vulnerable person's front door.

Shown by one route only, ``GET /api/customers/{id}/key-safe``, to
- an operator or supervisor who holds an open alarm for that customer (accepted
  by them and not closed), or
- a supervisor who gives a reason.
Every look, and every refused attempt, is written to the audit log (a refused attempt is
kept although the request fails: ``keep_writes``). Setting it is the registry's
(``arc/registry/keysafe.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.events import emit
from arc.alarms.models import Alarm
from arc.audit.models import AuditEntry
from arc.audit.service import record, seen_in_view
from arc.auth.deps import Supervisor, require_roles
from arc.auth.models import User
from arc.kit.crypto import DecryptError
from arc.kit.db import Session
from arc.kit.errors import Conflict, ErrorCode, Forbidden, Unprocessable
from arc.registry.crud import get_or_404
from arc.registry.keysafe import KeySafeOut
from arc.registry.models import Customer
from arc.registry.service import read_key_safe as read_customer_key_safe

log = logging.getLogger(__name__)
router = APIRouter(tags=["key-safe"])
Handler = Annotated[User, Depends(require_roles("operator", "supervisor"))]
HANDLING = ("accepted", "in_progress", "dispatched", "on_scene")
PURPOSES = ("responder_locked_out", "emergency_services_entry", "code_check", "incident_review")
Purpose = Literal[PURPOSES]
REASON_MIN_LENGTH = 15


@dataclass(frozen=True)
class KeySafeRead:
    """What a look at the key safe found: the value, nothing recorded, or a value that cannot
    be decrypted (a retired key, a corrupted row) — the page says so instead of failing."""

    value: str | None = None
    unreadable: bool = False

    @property
    def state(self) -> str:
        return "unreadable" if self.unreadable else "shown" if self.value is not None else "not_recorded"


async def report_unreadable(
    session: AsyncSession,
    customer: Customer,
    user: User,
    *,
    purpose: str,
    request: Request,
    view: str | None = None,
    alarm_id: int | None = None,
) -> None:
    """A key-safe value that cannot be decrypted: an audit row (action ``unreadable``) and a live
    event ``keysafe.unreadable`` the supervisors' page shows, once per page view."""
    log.error("key-safe value of customer %s cannot be decrypted", customer.id)
    if await seen_in_view(session, user, "key_safe", customer.id, view, now=request.app.state.clock.now()):
        return
    await record(
        session,
        actor=user,
        action="unreadable",
        object_type="key_safe",
        object_id=customer.id,
        customer_id=customer.id,
        request=request,
        detail={
            "basis": purpose,
            **({"view": view} if view else {}),
            **({"alarm_id": alarm_id} if alarm_id else {}),
        },
    )
    await emit(
        session,
        "keysafe.unreadable",
        {"customer_id": customer.id, "alarm_id": alarm_id, "by": user.full_name[:64], "purpose": purpose},
        alarm_id=alarm_id,
    )


async def read_key_safe(
    session: AsyncSession,
    customer: Customer,
    user: User,
    *,
    purpose: str,
    request: Request,
    view: str | None = None,
    alarm_id: int | None = None,
) -> KeySafeRead:
    """The customer's key-safe information for ``user``, whom the caller has found entitled.

    The single point of access for alarm handling: decrypts (``app.state.data_cipher``) and
    writes an audit row for every look — once per page ``view`` when the page names its view
    (see ``arc.audit.service.seen_in_view``). A value that cannot be decrypted is reported
    (``report_unreadable``) and comes back as ``unreadable``, never as an error.
    """
    if customer.key_safe_ciphertext is None:
        return KeySafeRead()
    try:
        value = read_customer_key_safe(customer, request.app.state.data_cipher)
    except DecryptError:
        await report_unreadable(
            session, customer, user, purpose=purpose, request=request, view=view, alarm_id=alarm_id
        )
        return KeySafeRead(unreadable=True)
    if not await seen_in_view(
        session, user, "key_safe", customer.id, view, now=request.app.state.clock.now()
    ):
        await record(
            session,
            actor=user,
            action="view",
            object_type="key_safe",
            object_id=customer.id,
            customer_id=customer.id,
            request=request,
            detail={"basis": purpose, **({"view": view} if view else {})},
        )
    return KeySafeRead(value=value)


async def open_alarm_held_by(session: AsyncSession, user_id: int, customer_id: int) -> int | None:
    """The id of an alarm for this customer that this user accepted and has not closed, if any."""
    return await session.scalar(
        select(Alarm.id)
        .where(
            Alarm.customer_id == customer_id,
            Alarm.accepted_by_id == user_id,
            Alarm.status.in_(HANDLING),
        )
        .order_by(Alarm.id.desc())
        .limit(1)
    )


@router.get("/customers/{customer_id}/key-safe", response_model=KeySafeOut)
async def get_key_safe(
    request: Request,
    session: Session,
    user: Handler,
    customer_id: int,
    reason: Annotated[
        str | None,
        Query(
            max_length=500,
            description=f"required of a supervisor without an open alarm: at least {REASON_MIN_LENGTH} characters",
        ),
    ] = None,
    purpose: Annotated[Purpose | None, Query(description="required with a reason: why you need it")] = None,
):
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    alarm_id = await open_alarm_held_by(session, user.id, customer_id)
    reason = (reason or "").strip() or None
    if alarm_id is not None:
        basis = "open_alarm"
    elif user.has_role("supervisor") and reason and len(reason) >= REASON_MIN_LENGTH and purpose:
        basis = "supervisor_reason"
    else:
        refusal = "supervisor_needs_reason" if user.has_role("supervisor") else "no_open_alarm"
        await record(
            session,
            actor=user,
            action="denied",
            object_type="key_safe",
            object_id=customer_id,
            customer_id=customer_id,
            request=request,
            reason=reason,
            detail={"refused": refusal, **({"purpose": purpose} if purpose else {})},
        )
        if refusal == "supervisor_needs_reason":
            if reason and len(reason) >= REASON_MIN_LENGTH:
                raise Unprocessable(
                    f"choose why you need key-safe information without an open alarm: {', '.join(PURPOSES)}",
                    field="purpose",
                    keep_writes=True,
                )
            raise Unprocessable(
                f"give a reason of at least {REASON_MIN_LENGTH} characters to see key-safe information "
                "without an open alarm",
                field="reason",
                keep_writes=True,
            )
        raise Forbidden(
            "key-safe information is shown only while you handle an open alarm for this customer",
            code=ErrorCode.NO_OPEN_ALARM,
            keep_writes=True,
        )
    await record(
        session,
        actor=user,
        action="view",
        object_type="key_safe",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
        reason=reason,
        detail={
            "basis": basis,
            "alarm_id": alarm_id,
            **({"purpose": purpose} if basis == "supervisor_reason" else {}),
        },
    )
    try:
        plaintext = read_customer_key_safe(customer, request.app.state.data_cipher)
    except DecryptError:
        await report_unreadable(session, customer, user, purpose=basis, request=request, alarm_id=alarm_id)
        raise Conflict(
            "key-safe information cannot be decrypted with the configured keys; a supervisor has been told",
            code=ErrorCode.UNDECRYPTABLE,
            keep_writes=True,
        ) from None
    return KeySafeOut(customer_id=customer.id, key_safe_info=plaintext, basis=basis, alarm_id=alarm_id)


class UnreadableNotice(BaseModel):
    at: datetime
    customer_id: int | None
    alarm_id: int | None
    reported_by: str
    basis: str | None


class UnreadableNotices(BaseModel):
    items: list[UnreadableNotice]


@router.get(
    "/key-safe/unreadable",
    response_model=UnreadableNotices,
    summary="Key-safe values that could not be decrypted when someone needed them (newest first)",
)
async def unreadable_key_safes(
    session: Session,
    _: Supervisor,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UnreadableNotices:
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "unreadable", AuditEntry.object_type == "key_safe")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return UnreadableNotices(
        items=[
            UnreadableNotice(
                at=r.at,
                customer_id=r.customer_id,
                alarm_id=(r.detail or {}).get("alarm_id"),
                reported_by=r.actor,
                basis=(r.detail or {}).get("basis"),
            )
            for r in rows
        ]
    )
