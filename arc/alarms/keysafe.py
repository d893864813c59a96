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
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.kit.crypto import DecryptError
from arc.kit.db import Session
from arc.kit.errors import Conflict, Forbidden, Unprocessable
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


async def read_key_safe(
    session: AsyncSession, customer: Customer, user: User, *, purpose: str, request: Request
) -> str | None:
    """The customer's key-safe information for ``user``, whom the caller has found entitled.

    The single point of access for alarm handling: decrypts (``app.state.data_cipher``) and
    writes an audit row for every look.
    """
    if customer.key_safe_ciphertext is None:
        return None
    value = read_customer_key_safe(customer, request.app.state.data_cipher)
    await record(
        session,
        actor=user,
        action="view",
        object_type="key_safe",
        object_id=customer.id,
        customer_id=customer.id,
        request=request,
        detail={"basis": purpose},
    )
    return value


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
            code="no_open_alarm",
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
    except DecryptError as exc:
        log.error("key-safe value of customer %s cannot be decrypted: %s", customer.id, exc)
        raise Conflict(
            "key-safe information cannot be decrypted with the configured keys; tell an administrator",
            code="undecryptable",
        ) from None
    return KeySafeOut(customer_id=customer.id, key_safe_info=plaintext, basis=basis, alarm_id=alarm_id)
