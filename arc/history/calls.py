"""Call history: every alarm of a person, a unit or one peripheral, with what the unit reported,
the outcome, who responded, and the times to answer and to arrival. Filters and paging; the
same query feeds the CSV/XLSX export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.alarms.outcomes import OutcomeCode
from arc.auth.models import User
from arc.dispatch.models import ResponseTask
from arc.history.queries import period_bounds
from arc.history.signals import signal_type
from arc.registry.models import Responder
from devices.protocol.codes import device_type_name, status_name

TYPES = ("genuine", "false", "technical", "other")


@dataclass(frozen=True)
class Scope:
    """Whose history: a customer, a unit, or one peripheral (unit + did)."""

    customer_id: int | None = None
    unit_id: int | None = None
    did: str | None = None


@dataclass(frozen=True)
class Filters:
    first: date | None = None
    last: date | None = None
    device_type: str | None = None
    outcome: str | None = None
    type: str | None = None


def _responders():
    """Each alarm's response tasks as a JSON list (who, kind, status), oldest first."""
    ers = User.__table__.alias("ers_user")
    who = func.coalesce(Responder.name, ers.c.full_name, ResponseTask.service, func.upper(ResponseTask.kind))
    return (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_object(
                            "kind", ResponseTask.kind, "who", who, "status", ResponseTask.status
                        ),
                        ResponseTask.id,
                    )
                ),
                literal_column("'[]'::json"),
            )
        )
        .select_from(ResponseTask)
        .outerjoin(Responder, Responder.id == ResponseTask.responder_id)
        .outerjoin(ers, ers.c.id == ResponseTask.ers_user_id)
        .where(ResponseTask.alarm_id == Alarm.id)
        .scalar_subquery()
    )


def _arrival():
    return (
        select(func.min(ResponseTask.arrived_at)).where(ResponseTask.alarm_id == Alarm.id).scalar_subquery()
    )


def _where(stmt: Select, scope: Scope, f: Filters, zone) -> Select:
    if scope.customer_id is not None:
        stmt = stmt.where(Alarm.customer_id == scope.customer_id)
    if scope.unit_id is not None:
        stmt = stmt.where(Alarm.unit_id == scope.unit_id)
    if scope.did is not None:
        stmt = stmt.where(Alarm.did == scope.did)
    if f.first is not None or f.last is not None:
        start, end = period_bounds(f.first or date(1970, 1, 1), f.last or date(9999, 12, 30), zone)
        stmt = stmt.where(Alarm.raised_at >= start, Alarm.raised_at < end)
    if f.device_type:
        stmt = stmt.where(Alarm.dty == f.device_type)
    if f.outcome:
        stmt = stmt.where(Alarm.outcome_code == f.outcome)
    if f.type:
        stmt = stmt.where(signal_type() == f.type)
    return stmt


def _row(r) -> dict:
    answer = (r.accepted_at - r.raised_at).total_seconds() if r.accepted_at else None
    arrival = (r.arrived_at - r.raised_at).total_seconds() if r.arrived_at else None
    return {
        "id": r.id,
        "raised_at": r.raised_at.isoformat(),
        "category": r.category,
        "kind": r.kind,
        "type": r.type,
        "dty": r.dty,
        "device_type": device_type_name(r.dty) if r.dty else None,
        "did": r.did,
        "location_text": r.location_text,
        "reported": status_name(r.stc) if r.stc else None,
        "title": r.title,
        "activations": r.activation_count,
        "status": r.status,
        "outcome_code": r.outcome_code,
        "outcome": r.outcome_label or r.outcome_code,
        "operator": r.operator,
        "responders": r.responders or [],
        "answer_s": round(answer, 1) if answer is not None else None,
        "arrival_s": round(arrival, 1) if arrival is not None else None,
    }


async def call_history(
    session: AsyncSession, scope: Scope, f: Filters, zone, *, page: int = 1, page_size: int = 50
) -> dict:
    total = await session.scalar(_where(select(func.count()).select_from(Alarm), scope, f, zone))
    rows = await session.execute(_select(scope, f, zone).limit(page_size).offset((page - 1) * page_size))
    return {"total": total or 0, "page": page, "page_size": page_size, "rows": [_row(r) for r in rows]}


def _select(scope: Scope, f: Filters, zone) -> Select:
    stmt = (
        select(
            Alarm.id,
            Alarm.raised_at,
            Alarm.category,
            Alarm.kind,
            signal_type().label("type"),
            Alarm.dty,
            Alarm.did,
            Alarm.stc,
            Alarm.location_text,
            Alarm.title,
            Alarm.activation_count,
            Alarm.status,
            Alarm.outcome_code,
            Alarm.accepted_at,
            OutcomeCode.label.label("outcome_label"),
            User.full_name.label("operator"),
            _arrival().label("arrived_at"),
            _responders().label("responders"),
        )
        .outerjoin(OutcomeCode, OutcomeCode.code == Alarm.outcome_code)
        .outerjoin(User, and_(User.id == Alarm.accepted_by_id))
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
    )
    return _where(stmt, scope, f, zone)


async def all_calls(session: AsyncSession, scope: Scope, f: Filters, zone, *, limit: int) -> list[dict]:
    """Every row for an export (newest first), at most ``limit``."""
    rows = await session.execute(_select(scope, f, zone).limit(limit))
    return [_row(r) for r in rows]
