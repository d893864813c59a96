"""Admin user management: create, change role or grants, deactivate, reset password. Every change is audited."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select

from arc.audit.service import record
from arc.auth.deps import Admin
from arc.auth.endpoints import UserOut
from arc.auth.grants import flag_clinical_grant
from arc.auth.models import User
from arc.auth.service import (
    USERNAME_PATTERN,
    create_user,
    generate_password,
    revoke_all_for_user,
    set_password,
)
from arc.kit.db import Session
from arc.kit.errors import Conflict, ErrorCode, Forbidden, NotFound, Unprocessable

router = APIRouter(prefix="/admin/users", tags=["users"])

Role = Literal["operator", "supervisor", "ers", "tec", "finance", "admin"]
Username = Annotated[str, StringConstraints(strip_whitespace=True, pattern=USERNAME_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class UserAdminOut(UserOut):
    is_active: bool
    locked: bool = False
    sso: bool = False


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    full_name: Name
    role: Role
    extra_roles: list[Role] = Field(default_factory=list)
    password: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="omit to have one generated and shown once"
    )


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Name | None = None
    role: Role | None = None
    extra_roles: list[Role] | None = None
    is_active: bool | None = None


class CreatedOut(BaseModel):
    user: UserAdminOut
    temporary_password: str | None = Field(default=None, description="shown once; give it to the user")


def _out(user: User, now) -> UserAdminOut:
    out = UserAdminOut.model_validate(user)
    out.locked = bool(user.locked_until and user.locked_until > now)
    out.sso = user.oidc_subject is not None
    return out


async def _get(session, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def _other_active_admins(session, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.is_active.is_(True),
                User.id != user_id,
                (User.role == "admin") | User.extra_roles.contains(["admin"]),
            )
        )
        or 0
    )


@router.get("", response_model=list[UserAdminOut])
async def list_users(request: Request, session: Session, _: Admin):
    now = request.app.state.clock.now()
    return [_out(u, now) for u in await session.scalars(select(User).order_by(User.username))]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CreatedOut)
async def add_user(request: Request, session: Session, admin: Admin, body: UserCreate):
    now = request.app.state.clock.now()
    password = body.password or generate_password(body.username)
    user = await create_user(
        session,
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        extra_roles=body.extra_roles,
        password=password,
        now=now,
    )
    await record(
        session,
        actor=admin,
        action="create",
        object_type="user",
        object_id=user.id,
        request=request,
        detail={"role": user.role, "extra_roles": user.extra_roles},
    )
    await flag_clinical_grant(session, admin, user, frozenset(), request)
    return CreatedOut(user=_out(user, now), temporary_password=None if body.password else password)


@router.patch("/{user_id}", response_model=UserAdminOut)
async def update_user(request: Request, session: Session, admin: Admin, user_id: int, body: UserUpdate):
    now = request.app.state.clock.now()
    user = await _get(session, user_id)
    sent = body.model_dump(exclude_unset=True)
    if any(sent.get(k, 1) is None for k in ("full_name", "role", "is_active")):
        raise Unprocessable("full_name, role and is_active cannot be empty")
    if user.id == admin.id and {"role", "extra_roles"} & sent.keys():
        raise Forbidden("no one changes their own roles; ask another admin", code=ErrorCode.OWN_ROLES)
    was_admin = user.is_active and user.has_role("admin")
    roles_before = user.roles
    for field, value in sent.items():
        setattr(user, field, value)
    if "extra_roles" in sent or "role" in sent:
        user.extra_roles = sorted(set(user.extra_roles or ()) - {user.role})
    if (
        was_admin
        and not (user.is_active and user.has_role("admin"))
        and not await _other_active_admins(session, user.id)
    ):
        raise Conflict("this would leave no active admin", code=ErrorCode.LAST_ADMIN)
    if {"role", "extra_roles", "is_active"} & sent.keys():
        await revoke_all_for_user(session, user.id, now)  # new rights take effect at the next log-in
    await session.flush()
    action = "deactivate" if sent.get("is_active") is False else "update"
    await record(
        session,
        actor=admin,
        action=action,
        object_type="user",
        object_id=user.id,
        request=request,
        detail={"fields": sorted(sent), "role": user.role, "extra_roles": user.extra_roles},
    )
    await flag_clinical_grant(session, admin, user, roles_before, request)
    return _out(user, now)


@router.post("/{user_id}/reset-password", response_model=CreatedOut)
async def reset_password(request: Request, session: Session, admin: Admin, user_id: int):
    """A new random password, shown once; the user's sessions are signed out and any lock lifted.
    At the next log-in they must choose their own before anything else answers."""
    now = request.app.state.clock.now()
    user = await _get(session, user_id)
    password = generate_password(user.username)
    await set_password(session, user, password, now)
    user.must_change_password = True  # the temporary password lets them in only to choose their own
    await revoke_all_for_user(session, user.id, now)
    await record(
        session,
        actor=admin,
        action="update",
        object_type="user",
        object_id=user.id,
        request=request,
        detail={"field": "password", "reset": True},
    )
    return CreatedOut(user=_out(user, now), temporary_password=password)
