"""What the TEC pages read: one customer with everything about them, their timeline, the review list."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.audit.models import AuditEntry
from arc.registry import assignments, schemas
from arc.registry.changes import current_absence
from arc.registry.crud import get_or_404
from arc.registry.journey_schemas import (
    AbsenceOut,
    AssignmentOut,
    ConnectionView,
    CustomerView,
    ReviewItem,
    TimelineItem,
)
from arc.registry.lifecycle import FREE_DAYS, review_due_on
from arc.registry.models import Absence, Connection, Customer, Responder
from arc.registry.units import Peripheral, Unit
from devices.protocol.codes import device_type_name

REASONS = {
    "death": "death",
    "residential_care": "moved to residential care",
    "moved_in_with_family": "moved in with family",
    "cancelled": "cancelled",
    "moved_away": "moved away",
    "not_retained": "not retained at the 6-week review",
}


def _day(iso: str | None) -> str:
    """2026-11-20 -> 20 Nov 2026 (as the pages show dates)."""
    try:
        return date.fromisoformat(iso).strftime("%-d %b %Y")
    except (TypeError, ValueError):
        return str(iso)


def describe(entry: AuditEntry) -> str:
    """A sentence for the timeline, from the audit row's ids and field names only."""
    d = {k: _day(v) if k.endswith("_on") else v for k, v in (entry.detail or {}).items()}
    kind = (entry.action, entry.object_type)
    if kind == ("create", "customer"):
        return (
            "Imported from another provider"
            if d.get("via") == "import"
            else "Referral recorded; unit installed"
        )
    if kind == ("update", "customer") and d.get("change") == "moved_house":
        return f"Moved house (from {d.get('moved_on')})"
    if kind == ("update", "customer"):
        return (
            "Details changed: " + ", ".join(d.get("fields") or []) if d.get("fields") else "Details changed"
        )
    if kind == ("update", "review"):
        outcome = "retained — charging starts on day 43" if d.get("outcome") == "retained" else "not retained"
        return f"6-week review: {outcome}"
    if kind == ("update", "withdrawal"):
        returned = "; unit returned" if d.get("unit_returned") else ""
        return (
            f"Withdrawn on {d.get('withdrawn_on')}: {REASONS.get(d.get('reason'), d.get('reason'))}{returned}"
        )
    if kind == ("update", "unit_return"):
        return "Unit returned"
    if kind == ("update", "unit_swap"):
        return f"Unit swapped ({d.get('reason')}); {d.get('peripherals_moved', 0)} peripheral(s) moved to the new unit"
    if entry.object_type == "peripheral":
        verb = {"create": "added", "update": "moved", "deactivate": "removed"}.get(entry.action, entry.action)
        return f"Peripheral {verb}" + (f" ({device_type_name(d['dty'])})" if d.get("dty") else "")
    if entry.object_type in ("responder", "responders"):
        verb = {"create": "added", "update": "changed", "deactivate": "removed"}.get(
            entry.action, entry.action
        )
        return "Call order changed" if entry.object_type == "responders" else f"Responder {verb}"
    if entry.object_type == "absence":
        what = "Hospital stay" if d.get("kind") == "hospital" else "Holiday"
        return (
            f"{what} from {d['starts_on']}"
            if entry.action == "create"
            else f"{what} ended {d.get('ends_on')}"
        )
    if entry.object_type == "key_safe":
        return "Key-safe information changed"
    return f"{entry.object_type} {entry.action}"


async def timeline(session: AsyncSession, customer_id: int, limit: int = 200) -> list[TimelineItem]:
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.customer_id == customer_id, AuditEntry.action.not_in(("view", "search", "denied")))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        TimelineItem(at=e.at, actor=e.actor, action=e.action, object_type=e.object_type, text=describe(e))
        for e in rows
    ]


async def _connection_view(session: AsyncSession, conn: Connection) -> ConnectionView:
    view = ConnectionView.model_validate(
        {
            **schemas.ConnectionOut.model_validate(conn).model_dump(),
            "review_due_on": review_due_on(conn.install_date),
        }
    )
    if conn.unit_id is not None:
        unit = await session.get(Unit, conn.unit_id)
        view.unit = schemas.UnitOut.model_validate(unit)
        peripherals = await session.scalars(
            select(Peripheral).where(Peripheral.unit_id == unit.id).order_by(Peripheral.id)
        )
        view.peripherals = [
            schemas.PeripheralOut.model_validate(p).model_copy(
                update={"device_type": device_type_name(p.dty)}
            )
            for p in peripherals
        ]
    history = await assignments.for_connection(session, conn.id)
    cids = dict(
        (
            await session.execute(select(Unit.id, Unit.cid).where(Unit.id.in_([h.unit_id for h in history])))
        ).all()
    )
    view.units_history = [
        AssignmentOut.model_validate(h).model_copy(update={"cid": cids.get(h.unit_id, "")}) for h in history
    ]
    return view


async def customer_view(
    session: AsyncSession, customer_id: int, today: date, *, may_edit: bool
) -> CustomerView:
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    out = schemas.CustomerOut.model_validate(customer)
    out.has_key_safe_info = bool(customer.key_safe_ciphertext)
    conns = await session.scalars(
        select(Connection).where(Connection.customer_id == customer_id).order_by(Connection.id.desc())
    )
    responders = await session.scalars(
        select(Responder).where(Responder.customer_id == customer_id).order_by(Responder.position)
    )
    absences = await session.scalars(
        select(Absence).where(Absence.customer_id == customer_id).order_by(Absence.starts_on.desc())
    )
    away = await current_absence(session, customer_id, today)
    return CustomerView(
        customer=out,
        connections=[await _connection_view(session, c) for c in conns],
        responders=[schemas.ResponderOut.model_validate(r) for r in responders],
        absences=[AbsenceOut.model_validate(a) for a in absences],
        away=AbsenceOut.model_validate(away) if away else None,
        timeline=await timeline(session, customer_id),
        may_edit=may_edit,
    )


async def reviews_due(session: AsyncSession, today: date, within_days: int) -> list[ReviewItem]:
    """Trial connections with no review yet whose 42 days end within ``within_days`` or have ended."""
    latest_install = today + timedelta(days=within_days) - timedelta(days=FREE_DAYS - 1)
    rows = await session.execute(
        select(Connection, Customer)
        .join(Customer, Customer.id == Connection.customer_id)
        .where(
            Connection.status == "trial",
            Connection.review_outcome.is_(None),
            Connection.install_date <= latest_install,
        )
        .order_by(Connection.install_date, Connection.id)
        .limit(500)
    )
    items = []
    for conn, customer in rows.all():
        due = review_due_on(conn.install_date)
        items.append(
            ReviewItem(
                connection_id=conn.id,
                customer_id=customer.id,
                name=f"{customer.given_name} {customer.family_name}",
                case_ref=customer.case_ref,
                postcode=customer.postcode,
                install_date=conn.install_date,
                review_due_on=due,
                days_left=(due - today).days,
            )
        )
    return items
