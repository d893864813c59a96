"""Routes: the TEC review list, a person's flags with their reviews, recording a review, and the
flag thresholds."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, select

from arc.audit.service import record, record_many_views
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.history.api_calls import HistoryReader
from arc.history.flags import by_severity, flag_view, load_thresholds, review_flag, save_thresholds
from arc.history.models import REVIEW_ACTIONS, Flag, FlagReview
from arc.history.params import Page, PageSize, require_customer
from arc.history.rules import SEVERITY_RANK
from arc.history.schemas import CustomerFlags, ReviewAdded, ReviewList
from arc.history.thresholds import Thresholds
from arc.kit.db import Session
from arc.kit.errors import NotFound
from arc.registry.models import Customer

router = APIRouter(prefix="/history", tags=["flags"])
Tec = Annotated[User, Depends(require_roles("tec"))]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["seen", "action_taken", "no_action_needed"]
    action: Literal[REVIEW_ACTIONS] | None = Field(None, description="with action_taken: what was done")  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=2000, pattern=r"^[^\x00]*$")


def review_view(review: FlagReview, reviewer: User | None) -> dict:
    return {
        "id": review.id,
        "flag_id": review.flag_id,
        "at": review.at.isoformat(),
        "status": review.status,
        "action": review.action,
        "note": review.note,
        "reviewer": reviewer.full_name if reviewer else None,
    }


@router.get(
    "/flags", summary="Flagged customers, most severe first (the TEC review list)", response_model=ReviewList
)
async def review_list(
    request: Request,
    session: Session,
    user: HistoryReader,
    status: Annotated[Literal["open", "cleared", "resolved"], Query()] = "open",
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict:
    rank = case(SEVERITY_RANK, value=Flag.severity, else_=9)
    people = (
        select(Flag.customer_id, func.min(rank).label("rank"), func.max(Flag.updated_at).label("latest"))
        .where(Flag.status == status)
        .group_by(Flag.customer_id)
    )
    sub = people.subquery()
    total = await session.scalar(select(func.count()).select_from(sub))
    shown = list(
        await session.scalars(
            select(sub.c.customer_id)
            .order_by(sub.c.rank, sub.c.latest.desc(), sub.c.customer_id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    )
    grouped: dict[int, list[Flag]] = {c: [] for c in shown}
    if shown:
        rows = await session.scalars(select(Flag).where(Flag.status == status, Flag.customer_id.in_(shown)))
        for flag in by_severity(list(rows)):
            grouped[flag.customer_id].append(flag)
    names = (
        {c.id: c for c in await session.scalars(select(Customer).where(Customer.id.in_(shown)))}
        if shown
        else {}
    )
    last_review = (
        dict(
            (
                await session.execute(
                    select(FlagReview.flag_id, func.max(FlagReview.at))
                    .where(FlagReview.flag_id.in_([f.id for c in shown for f in grouped[c]]))
                    .group_by(FlagReview.flag_id)
                )
            ).all()
        )
        if shown
        else {}
    )
    await record_many_views(session, actor=user, object_type="flags", customer_ids=shown, request=request)
    return {
        "status": status,
        "total": total or 0,
        "page": page,
        "page_size": page_size,
        "customers": [
            {
                "customer_id": c,
                "name": f"{names[c].given_name} {names[c].family_name}" if c in names else None,
                "case_ref": names[c].case_ref if c in names else None,
                "severity": grouped[c][0].severity,
                "flags": [
                    {
                        **flag_view(f),
                        "last_reviewed_at": last_review[f.id].isoformat() if f.id in last_review else None,
                    }
                    for f in grouped[c]
                ],
            }
            for c in shown
        ],
    }


@router.get(
    "/customers/{customer_id}/flags",
    summary="All of a person's flags, with their reviews",
    response_model=CustomerFlags,
)
async def customer_flags(request: Request, session: Session, user: HistoryReader, customer_id: int) -> dict:
    await require_customer(session, customer_id)
    flags = list(
        await session.scalars(
            select(Flag).where(Flag.customer_id == customer_id).order_by(Flag.raised_at.desc())
        )
    )
    rows = (
        await session.execute(
            select(FlagReview, User)
            .outerjoin(User, User.id == FlagReview.reviewer_id)
            .where(FlagReview.flag_id.in_([f.id for f in flags]))
            .order_by(FlagReview.at, FlagReview.id)
        )
        if flags
        else []
    )
    reviews: dict[int, list[dict]] = {}
    for review, reviewer in rows:
        reviews.setdefault(review.flag_id, []).append(review_view(review, reviewer))
    await record(
        session,
        actor=user,
        action="view",
        object_type="flags",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
    )
    return {
        "open": [
            flag_view(f) | {"reviews": reviews.get(f.id, [])}
            for f in by_severity([f for f in flags if f.status == "open"])
        ],
        "past": [flag_view(f) | {"reviews": reviews.get(f.id, [])} for f in flags if f.status != "open"],
    }


@router.post(
    "/flags/{flag_id}/reviews",
    status_code=201,
    summary="Record a review (seen / action taken)",
    response_model=ReviewAdded,
)
async def add_review(request: Request, session: Session, user: Tec, flag_id: int, body: ReviewIn) -> dict:
    if not 0 < flag_id < 2**63:
        raise NotFound(f"flag {flag_id} not found")
    now = request.app.state.clock.now()
    flag, review = await review_flag(
        session, flag_id, user, now, status=body.status, action=body.action, note=body.note
    )
    await record(
        session,
        actor=user,
        action="create",
        object_type="flag_review",
        object_id=review.id,
        customer_id=flag.customer_id,
        request=request,
        detail={"flag_id": flag.id, "status": body.status},
    )
    return {"flag": flag_view(flag), "review": review_view(review, user)}


@router.get("/thresholds", summary="The flag thresholds in force")
async def get_thresholds(session: Session, user: HistoryReader) -> Thresholds:
    return await load_thresholds(session)


@router.put("/thresholds", summary="Change the flag thresholds (everyone is re-checked)")
async def put_thresholds(request: Request, session: Session, user: Tec, body: Thresholds) -> Thresholds:
    saved = await save_thresholds(session, body, user, request.app.state.clock.now())
    await record(
        session,
        actor=user,
        action="update",
        object_type="flag_thresholds",
        object_id=1,
        request=request,
        detail={"fields": sorted(body.model_fields_set)},
    )
    return saved
