"""customers.medical_notes_shareable: the council marks medical notes as shareable with responders

Revision ID: house_0002
Revises: gaps14_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "house_0002"
down_revision: str | Sequence[str] | None = "gaps14_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("medical_notes_shareable", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("customers", "medical_notes_shareable")
