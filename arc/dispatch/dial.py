"""Click-to-dial: "Call" on the alarm card asks the council's telephony gateway to ring a number.

``POST /api/alarms/{id}/dial`` records a ``dial`` event on the alarm's log (who was called, by
whom; never the number). With ``LIFELINE_DIAL_WEBHOOK_URL`` set, after the commit it also POSTs
``{"type": "call.requested", ...}`` (with the number) to the gateway, signed like the responder
notifications (``arc.dispatch.notifier.post_signed``); unset, the request is only recorded and
logged (ids only) and the operator dials the ``tel:`` link themselves. The result of the call is
recorded afterwards with ``POST /api/alarms/{id}/calls``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal, Protocol

import httpx
from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from arc.alarms import write
from arc.alarms.schemas import AlarmEventOut
from arc.alarms.service import event_view, get_alarm
from arc.auth.deps import Operator
from arc.dispatch.notifier import DeliveryResult, post_signed
from arc.kit.db import Session, after_commit
from arc.kit.errors import Conflict, ErrorCode, Unprocessable
from arc.kit.openapi import error_responses
from arc.registry.models import Customer, Responder

log = logging.getLogger(__name__)
router = APIRouter(tags=["dispatch"])


@dataclass
class DialRequest:
    alarm_id: int
    event_id: int
    operator_id: int
    operator_username: str
    party: str
    responder_id: int | None
    to_phone: str


class Dialer(Protocol):
    channel: str

    async def dial(self, request: DialRequest) -> DeliveryResult: ...


class LogDialer:
    channel = "log"

    async def dial(self, request: DialRequest) -> DeliveryResult:
        return DeliveryResult(ok=True, detail="logged")


class WebhookDialer:
    channel = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url, self._secret, self.timeout, self._transport = url, secret.encode(), timeout, transport

    async def dial(self, request: DialRequest) -> DeliveryResult:
        payload = {"type": "call.requested", **asdict(request)}
        return await post_signed(
            self.url, self._secret, payload, wait_seconds=self.timeout, transport=self._transport
        )


def app_dialer(app) -> Dialer:
    """``app.state.dialer`` if set (a test), else from settings."""
    dialer = getattr(app.state, "dialer", None)
    if dialer is None:
        settings = app.state.settings
        dialer = LogDialer()
        if settings.dial_webhook_url:
            dialer = WebhookDialer(
                settings.dial_webhook_url,
                settings.dial_webhook_secret.get_secret_value(),
                timeout=settings.notify_timeout_seconds,
            )
        app.state.dialer = dialer
    return dialer


class DialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party: Literal["customer", "responder"]
    responder_id: int | None = Field(default=None, ge=1, description="required when party is responder")


class DialOut(BaseModel):
    event: AlarmEventOut
    gateway: Literal["webhook", "log"] = Field(
        description="webhook: the telephony gateway was asked to ring; log: only recorded, dial it yourself"
    )


async def _number(session, alarm, body: DialIn) -> str:
    if alarm.customer_id is None:
        raise Unprocessable("this alarm has no customer to call", field="party")
    if body.party == "customer":
        customer = await session.get(Customer, alarm.customer_id)
        if customer is None or not customer.phone_primary:
            raise Unprocessable("the person has no phone number on record", field="party")
        return customer.phone_primary
    if body.responder_id is None:
        raise Unprocessable("say which responder", field="responder_id")
    responder = await session.get(Responder, body.responder_id)
    if responder is None or responder.customer_id != alarm.customer_id:
        raise Unprocessable("not one of this person's responders", field="responder_id")
    return responder.phone_primary


@router.post(
    "/alarms/{alarm_id}/dial",
    status_code=status.HTTP_201_CREATED,
    summary="Call the person or a responder (through the click-to-dial gateway when one is set)",
    response_model=DialOut,
    responses=error_responses(409),
)
async def dial(request: Request, session: Session, user: Operator, alarm_id: int, body: DialIn) -> DialOut:
    alarm = await get_alarm(session, alarm_id, lock=True)
    if alarm.status == "closed":
        raise Conflict("this alarm is closed", code=ErrorCode.CLOSED)
    number = await _number(session, alarm, body)
    dialer = app_dialer(request.app)
    data = {"party": body.party, "gateway": dialer.channel}
    if body.responder_id is not None and body.party == "responder":
        data["responder_id"] = body.responder_id
    now = request.app.state.clock.now()
    event = await write.note_update(session, alarm, "dial", now, user=user, data=data)
    ask = DialRequest(
        alarm.id, event.id, user.id, user.username, body.party, data.get("responder_id"), number
    )

    async def send() -> None:
        result = await dialer.dial(ask)
        # ids only: the number never reaches the log
        log.info(
            "dial requested: alarm %s event %s user %s party %s via %s: %s",
            ask.alarm_id,
            ask.event_id,
            ask.operator_id,
            ask.party,
            dialer.channel,
            "ok" if result.ok else f"failed ({result.status_code or result.detail})",
        )

    after_commit(session, send)
    return DialOut(event=event_view(event), gateway=dialer.channel)
