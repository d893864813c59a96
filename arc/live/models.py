"""The live-event log: one row per change a dashboard must see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin


class LiveEvent(IdMixin, Base):
    """Ordered by ``id``; a reconnecting dashboard asks for everything after its last id."""

    __tablename__ = "live_events"

    at: Mapped[datetime] = mapped_column(server_default=func.now())
    kind: Mapped[str] = mapped_column(String(40))
    alarm_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
