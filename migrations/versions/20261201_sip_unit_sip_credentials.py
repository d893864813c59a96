"""Unit SIP Digest credentials (HA1) for the SIP edge's auth_db.

Revision ID: sip_0001
Revises: billing_0001
Create Date: 2026-12-01 08:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sip_0001"
down_revision: str | Sequence[str] | None = "billing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_sip_credentials",
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("ha1", sa.String(length=32), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_sip_credentials_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_sip_credentials")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_unit_sip_credentials_unit_id")),
        sa.UniqueConstraint("username", name=op.f("uq_unit_sip_credentials_username")),
    )


def downgrade() -> None:
    op.drop_table("unit_sip_credentials")
