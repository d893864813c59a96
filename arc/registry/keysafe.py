"""Key-safe information: the code that opens a vulnerable person's front door.

Stored encrypted (arc/security/crypto.py) and shown by one route only,
``GET /api/customers/{id}/key-safe``, to
- an operator or supervisor who holds an open alarm for that customer (accepted
  by them and not closed), or
- a supervisor who gives a reason.
Every look, and every refused attempt, is written to the audit log.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
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
from arc.registry.models import Customer
from arc.registry.schemas import storable
from arc.registry.service import read_key_safe, set_key_safe

log = logging.getLogger(__name__)
router = APIRouter(tags=["key-safe"])
Handler = Annotated[User, Depends(require_roles("operator", "supervisor"))]
HANDLING = ("accepted", "in_progress", "dispatched", "on_scene")
# why a supervisor without an open alarm may look, and how much they must say (issue 11, item 6)
PURPOSES = ("responder_locked_out", "emergency_services_entry", "code_check", "incident_review")
Purpose = Literal[PURPOSES]
REASON_MIN_LENGTH = 15


class KeySafeOut(BaseModel):
    customer_id: int
    key_safe_info: str | None
    basis: str  # "open_alarm" or "supervisor_reason"
    alarm_id: int | None = None


class KeySafeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_safe_info: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(storable)]
        | None
    )


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
        await session.commit()  # the refused attempt is kept although the request fails
        if refusal == "supervisor_needs_reason":
            if reason and len(reason) >= REASON_MIN_LENGTH:
                raise Unprocessable(
                    f"choose why you need key-safe information without an open alarm: {', '.join(PURPOSES)}",
                    field="purpose",
                )
            raise Unprocessable(
                f"give a reason of at least {REASON_MIN_LENGTH} characters to see key-safe information "
                "without an open alarm",
                field="reason",
            )
        raise Forbidden(
            "key-safe information is shown only while you handle an open alarm for this customer",
            code="no_open_alarm",
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
        plaintext = read_key_safe(customer, request.app.state.data_cipher)
    except DecryptError as exc:
        log.error("key-safe value of customer %s cannot be decrypted: %s", customer.id, exc)
        raise Conflict(
            "key-safe information cannot be decrypted with the configured keys; tell an administrator",
            code="undecryptable",
        ) from None
    return KeySafeOut(customer_id=customer.id, key_safe_info=plaintext, basis=basis, alarm_id=alarm_id)


@router.put("/customers/{customer_id}/key-safe", status_code=204)
async def put_key_safe(request: Request, session: Session, user: Handler, customer_id: int, body: KeySafeIn):
    """Set (or clear, with null) the key-safe information; it is encrypted before it is stored."""
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    set_key_safe(customer, body.key_safe_info, request.app.state.data_cipher)
    await session.flush()
    await record(
        session,
        actor=user,
        action="update",
        object_type="key_safe",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
        detail={"cleared": not body.key_safe_info},
    )
