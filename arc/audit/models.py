"""Audit log table. Append-only: a database trigger refuses UPDATE and DELETE.

No foreign keys on purpose: the log must outlive the users and customers it
names (a retention purge erases a customer's personal data, not the record
that someone looked at it), and nothing may cascade into it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin

ACTIONS = (
    "view",
    "denied",
    "search",
    "create",
    "update",
    "deactivate",
    "erase",
    "provision",
    "revoke",
    "rotate",
    "grant",  # a role that sees clinical data given to someone (arc/auth/grants.py)
    "acknowledge",  # another admin checked such a grant
    "unreadable",  # a stored secret (key-safe information) could not be decrypted when someone needed it
)


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_customer_at", "customer_id", "at"),
        Index("ix_audit_log_actor_at", "actor_user_id", "at"),
        Index("ix_audit_log_at", "at"),
    )

    at: Mapped[datetime] = mapped_column(server_default=func.now())
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(64))  # username, or "system" / "cli:<user>"
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(32))  # customer, key_safe, history, invoice, user...
    object_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
