"""Users of the service (staff, not customers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arc.kit.model import Base, IdMixin, TimestampMixin
from arc.kit.roles import ROLES

_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('operator', 'supervisor', 'ers', 'tec', 'finance', 'admin')", name="role_known"
        ),
        CheckConstraint(f"extra_roles <@ ARRAY[{_ROLE_LIST}]::varchar[]", name="extra_roles_known"),
        UniqueConstraint("oidc_issuer", "oidc_subject"),
    )

    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()
    # set when an admin resets the password: the user must choose a new one before anything else
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default="false")
    # further roles granted to this user (e.g. an admin who is also a supervisor)
    extra_roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list, server_default="{}")
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({self.role, *(self.extra_roles or ())})

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


class AuthSession(IdMixin, Base):
    """A browser session or an API bearer token. Only the token's SHA-256 is stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (CheckConstraint("kind IN ('browser', 'api')", name="kind_known"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="raise")


class LoginFailure(IdMixin, Base):
    """A failed log-in, counted per client address for the rate limit; purged after a day."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_ip_at", "client_ip", "at"),)

    at: Mapped[datetime] = mapped_column()
    client_ip: Mapped[str] = mapped_column(String(64))
