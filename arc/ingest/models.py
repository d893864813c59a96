"""The inbox of unit messages and the rejected inbox.

Every decoded `mrq` lands in ``ingest_inbox`` under the key that recognises a
retransmission: (cid, ref, mty, content_key, generation). ``content_key`` is
the content digest for ``IN`` updates (several per ref, told apart by
content) and empty otherwise; ``generation`` only grows when a unit reuses a
ref long after its session ended (counter wrap-around), so an old closed
session never swallows a new alarm. Triage writes what it decided on the row
(``action``, ``alarm_id``, ``snu``), so "why did this attach to that alarm?"
has an answer in the database.

Bytes that cannot become a message land in ``ingest_rejected`` with the raw
payload and the reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin


class InboxMessage(IdMixin, Base):
    __tablename__ = "ingest_inbox"
    __table_args__ = (
        UniqueConstraint("cid", "ref", "mty", "content_key", "generation"),
        Index("ix_ingest_inbox_alarm_open_sessions", "alarm_id", postgresql_where="final_answer_at IS NULL"),
        # retention (arc/ingest/retention.py): old handled rows no alarm needs, oldest first
        Index("ix_ingest_inbox_unlinked_handled_at", "handled_at", postgresql_where="alarm_id IS NULL"),
    )

    cid: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(16))
    mty: Mapped[str] = mapped_column(String(2))
    content_key: Mapped[str] = mapped_column(String(64), default="", server_default="")
    generation: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    fmt: Mapped[str] = mapped_column(String(4))
    topic: Mapped[str] = mapped_column(String(200))
    message: Mapped[dict] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column()
    handled_at: Mapped[datetime | None] = mapped_column()
    action: Mapped[str | None] = mapped_column(String(40))
    alarm_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("alarms.id", ondelete="SET NULL"))
    snu: Mapped[int | None] = mapped_column(SmallInteger)
    final_answer_at: Mapped[datetime | None] = mapped_column()


class RejectedMessage(IdMixin, Base):
    __tablename__ = "ingest_rejected"
    __table_args__ = (Index("ix_ingest_rejected_received_at", "received_at"),)

    received_at: Mapped[datetime] = mapped_column()
    topic: Mapped[str] = mapped_column(String(400))
    cid: Mapped[str | None] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(16))
    fmt: Mapped[str] = mapped_column(String(4))
    snu: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
