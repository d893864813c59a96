"""Click-to-dial: "Call" on the alarm card asks the council's telephony gateway to ring a number.

``POST /api/alarms/{id}/dial`` records a ``dial`` event on the alarm's log (who was called, by
whom; never the number). With ``LIFELINE_DIAL_WEBHOOK_URL`` set, the same transaction enqueues the
durable job ``dispatch.dial`` (ids only): a worker POSTs ``{"type": "call.requested", ...}`` (with
the number, read at send time) to the gateway, signed like the responder notifications
(``arc.dispatch.notifier.post_signed``), and records what the gateway said on the alarm's log
through the write path — ``dial_sent``, or ``dial_failed`` with the reason in words — published
live, so the operator's card says within seconds to dial by hand. One try only: a call rung
minutes late is worse than none, so a job that starts more than ``DIAL_FRESH_SECONDS`` after the
request (a restart, a backlog) rings nobody and records ``dial_failed`` "too late".
Unset, the request is only recorded and logged (ids only) and the operator dials the ``tel:``
link themselves. The result of the call is recorded afterwards with ``POST /api/alarms/{id}/calls``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal, Protocol

import httpx
from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from arc.alarms import write
from arc.alarms.models import AlarmEvent
from arc.alarms.schemas import AlarmEventOut
from arc.alarms.service import event_view, get_alarm
from arc.auth.deps import Operator
from arc.auth.models import User
from arc.dispatch.notifier import DeliveryResult, post_signed
from arc.kit.db import Session, after_commit, session_scope
from arc.kit.errors import Conflict, ErrorCode, Unprocessable
from arc.kit.jobs import TaskSpec, enqueue
from arc.kit.openapi import error_responses
from arc.registry.models import Customer, Responder

log = logging.getLogger(__name__)
router = APIRouter(tags=["dispatch"])
DIAL_FRESH_SECONDS = 60


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
                timeout=settings.dial_timeout_seconds,
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


async def _number(session, alarm, party: str, responder_id: int | None) -> str:
    if alarm.customer_id is None:
        raise Unprocessable("this alarm has no customer to call", field="party")
    if party == "customer":
        customer = await session.get(Customer, alarm.customer_id)
        if customer is None or not customer.phone_primary:
            raise Unprocessable("the person has no phone number on record", field="party")
        return customer.phone_primary
    if responder_id is None:
        raise Unprocessable("say which responder", field="responder_id")
    responder = await session.get(Responder, responder_id)
    if responder is None or responder.customer_id != alarm.customer_id:
        raise Unprocessable("not one of this person's responders", field="responder_id")
    return responder.phone_primary


def _log_result(ask: DialRequest, channel: str, result: DeliveryResult) -> None:
    # ids only: the number never reaches the log
    log.info(
        "dial requested: alarm %s event %s user %s party %s via %s: %s",
        ask.alarm_id,
        ask.event_id,
        ask.operator_id,
        ask.party,
        channel,
        "ok" if result.ok else f"failed ({result.status_code or result.detail})",
    )


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
    await _number(session, alarm, body.party, body.responder_id)  # 422 when there is none
    dialer = app_dialer(request.app)
    data = {"party": body.party, "gateway": dialer.channel}
    if body.responder_id is not None and body.party == "responder":
        data["responder_id"] = body.responder_id
    now = request.app.state.clock.now()
    event = await write.note_update(session, alarm, "dial", now, user=user, data=data)
    if dialer.channel == "log":
        ask = DialRequest(
            alarm.id, event.id, user.id, user.username, body.party, data.get("responder_id"), ""
        )

        async def logged() -> None:
            _log_result(ask, dialer.channel, await dialer.dial(ask))

        after_commit(session, logged)
    else:  # the gateway's answer goes on the log: a durable job, run once this commits
        await enqueue(session, DIAL, alarm_id=alarm.id, event_id=event.id)
    return DialOut(event=event_view(event), gateway=dialer.channel)


# --- the job: ring through the gateway, then say on the alarm's log what it answered ----------


def gateway_reason(result: DeliveryResult, timeout: float) -> str:
    """Why the gateway did not take the call, in words an operator reads on the card."""
    if result.status_code is not None:
        return f"the phone system refused it (HTTP {result.status_code})"
    if (result.detail or "").startswith("timed out"):
        return f"the phone system did not answer within {timeout:g} s"
    return "the phone system could not be reached"


async def _requested(app, alarm_id: int, event_id: int) -> tuple[DialRequest | None, dict | None]:
    """What to ring, read now (the number is never on the job row), and the log entry's data
    (with a ``reason`` when it must not ring); ``None`` data: the alarm is closed or gone."""
    state = app.state
    async with session_scope(state.sessionmaker) as session:
        alarm = await write.get(session, alarm_id)
        event = await session.get(AlarmEvent, event_id)
        if event is None or event.alarm_id != alarm_id or alarm.status == "closed":
            return None, None
        party, responder_id = event.data.get("party"), event.data.get("responder_id")
        data = {
            "dial_event_id": event_id,
            "party": party,
            **({"responder_id": responder_id} if responder_id else {}),
        }
        if (state.clock.now() - event.at).total_seconds() > DIAL_FRESH_SECONDS:
            return None, data | {
                "reason": f"too late: not passed to the phone system within {DIAL_FRESH_SECONDS} s"
            }
        try:
            number = await _number(session, alarm, party, responder_id)
        except Unprocessable:
            return None, data | {"reason": "the number is no longer on record"}
        user = await session.get(User, event.actor_user_id) if event.actor_user_id else None
        username = user.username if user else event.actor
        return DialRequest(
            alarm_id, event_id, event.actor_user_id, username, party, responder_id, number
        ), data


async def ring(app, *, alarm_id: int, event_id: int) -> None:
    """The job ``dispatch.dial``: one try at the gateway; its answer goes on the alarm's log."""
    dialer = app_dialer(app)
    ask, data = await _requested(app, alarm_id, event_id)
    if data is None:
        log.info("dial not sent: alarm %s event %s is closed or gone", alarm_id, event_id)
        return
    if ask is not None:
        try:
            result = await dialer.dial(ask)
        except Exception as exc:  # a broken dialer is a failed call, not a crash
            log.exception("dialer %s raised for alarm %s", dialer.channel, alarm_id)
            result = DeliveryResult(ok=False, detail=type(exc).__name__)
        _log_result(ask, dialer.channel, result)
        if not result.ok:
            data |= {
                "reason": gateway_reason(result, getattr(dialer, "timeout", 0)),
                "status_code": result.status_code,
            }
    state = app.state
    async with session_scope(state.sessionmaker) as session:
        alarm = await write.get(session, alarm_id, lock=True)
        kind = "dial_failed" if "reason" in data else "dial_sent"
        await write.note_update(session, alarm, kind, state.clock.now(), actor="system", data=data)


DIAL = TaskSpec("dispatch.dial", ring, max_attempts=1)
