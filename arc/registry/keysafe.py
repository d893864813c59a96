"""Key-safe information: the code that opens a vulnerable person's front door.

Stored encrypted (arc/kit/crypto.py); set here. It is shown by one route only,
``GET /api/customers/{id}/key-safe`` in ``arc/alarms/keysafe.py``, because who may see it
depends on who handles an open alarm for the customer.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.kit.db import Session
from arc.registry.crud import get_or_404
from arc.registry.models import Customer
from arc.registry.schemas import storable
from arc.registry.service import set_key_safe

log = logging.getLogger(__name__)
router = APIRouter(tags=["key-safe"])
Handler = Annotated[User, Depends(require_roles("operator", "supervisor"))]
# why a supervisor without an open alarm may look, and how much they must say (issue 11, item 6)


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
