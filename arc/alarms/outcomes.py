"""Outcome codes an operator closes an alarm with: a configurable list.

Defaults are seeded by migration 0004 and re-inserted by ``ensure_defaults``
if the table is ever found empty (so an alarm can always be closed). Codes are
never deleted, only deactivated, because closed alarms keep referring to them.
"""

from __future__ import annotations

from sqlalchemy import String, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.errors import Conflict, ErrorCode, NotFound, Unprocessable
from arc.kit.model import Base, IdMixin, TimestampMixin

TECHNICAL_FAULT = "technical_fault"

DEFAULT_OUTCOMES: list[tuple[str, str]] = [
    ("false_alarm", "False alarm"),
    ("assistance_by_phone", "Assistance given by phone"),
    ("family_attended", "Family / nominated responder attended"),
    ("ers_attended", "ERS attended"),
    ("ambulance_called", "Ambulance called"),
    ("fire_service_called", "Fire service called"),
    ("police_called", "Police called"),
    ("no_answer_escalated", "No answer — escalated"),
    ("cancelled_at_unit", "Cancelled at the unit"),
    (TECHNICAL_FAULT, "Technical fault"),
    ("test_call", "Test call"),
]


class OutcomeCode(IdMixin, TimestampMixin, Base):
    __tablename__ = "outcome_codes"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=100, server_default="100")
    active: Mapped[bool] = mapped_column(default=True, server_default="true")


def view(outcome: OutcomeCode) -> dict:
    return {"code": outcome.code, "label": outcome.label}


def admin_view(outcome: OutcomeCode) -> dict:
    return {**view(outcome), "position": outcome.position, "active": outcome.active}


async def ensure_defaults(session: AsyncSession) -> None:
    """Insert the default codes when the table is empty (fresh or truncated database)."""
    if await session.scalar(select(exists().select_from(OutcomeCode))):
        return
    rows = [
        {"code": code, "label": label, "position": (n + 1) * 10}
        for n, (code, label) in enumerate(DEFAULT_OUTCOMES)
    ]
    await session.execute(insert(OutcomeCode).values(rows).on_conflict_do_nothing(index_elements=["code"]))


async def list_outcomes(session: AsyncSession, *, include_inactive: bool = False) -> list[OutcomeCode]:
    await ensure_defaults(session)
    stmt = select(OutcomeCode).order_by(OutcomeCode.position, OutcomeCode.code)
    if not include_inactive:
        stmt = stmt.where(OutcomeCode.active)
    return list(await session.scalars(stmt))


async def require_active(session: AsyncSession, code: str) -> OutcomeCode:
    """The outcome an alarm is being closed with; 422 if unknown or retired."""
    await ensure_defaults(session)
    outcome = await session.scalar(select(OutcomeCode).where(OutcomeCode.code == code))
    if outcome is None or not outcome.active:
        raise Unprocessable(f"unknown outcome code {code!r}", field="outcome_code")
    return outcome


async def create_outcome(session: AsyncSession, code: str, label: str, position: int | None) -> OutcomeCode:
    await ensure_defaults(session)
    if await session.scalar(select(OutcomeCode.id).where(OutcomeCode.code == code)):
        raise Conflict(f"outcome code {code!r} already exists", code=ErrorCode.DUPLICATE, field="code")
    outcome = OutcomeCode(code=code, label=label, position=position if position is not None else 1000)
    session.add(outcome)
    await session.flush()
    return outcome


async def update_outcome(session: AsyncSession, code: str, changes: dict) -> OutcomeCode:
    outcome = await session.scalar(select(OutcomeCode).where(OutcomeCode.code == code).with_for_update())
    if outcome is None:
        raise NotFound(f"outcome code {code!r} not found")
    for field, value in changes.items():
        setattr(outcome, field, value)
    await session.flush()
    return outcome
