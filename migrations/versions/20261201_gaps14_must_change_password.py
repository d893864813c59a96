"""Users: must_change_password, set when an admin resets a password (issue 14).

Revision ID: gaps14_0001
Revises: history_0001
Create Date: 2026-12-01 09:55:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gaps14_0001"
down_revision: str | Sequence[str] | None = "history_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("must_change_password", sa.Boolean(), server_default="false", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("users", "must_change_password")
