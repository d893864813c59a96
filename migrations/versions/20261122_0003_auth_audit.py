"""auth and audit: append-only audit log, login failures, user grants and SSO ids,
key-safe codes encrypted at rest

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 19:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'operator', 'supervisor', 'ers', 'tec', 'finance', 'admin'"


def _cipher():
    # the key lives in settings (LIFELINE_DATA_KEY / LIFELINE_SECRET_KEY), never in the migration
    from arc.kit.crypto import DataCipher
    from arc.kit.settings import Settings

    return DataCipher.from_settings(Settings())


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor_user_id", "at"], unique=False)
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_customer_at", "audit_log", ["customer_id", "at"], unique=False)
    # append-only, enforced by the database whatever the application does
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )

    op.create_table(
        "login_failures",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_ip_at", "login_failures", ["client_ip", "at"], unique=False)

    op.add_column(
        "users",
        sa.Column("extra_roles", postgresql.ARRAY(sa.String(length=16)), server_default="{}", nullable=False),
    )
    op.add_column("users", sa.Column("oidc_issuer", sa.String(length=255), nullable=True))
    op.add_column("users", sa.Column("oidc_subject", sa.String(length=255), nullable=True))
    op.create_check_constraint(
        op.f("ck_users_extra_roles_known"), "users", f"extra_roles <@ ARRAY[{ROLES}]::varchar[]"
    )
    op.create_unique_constraint(
        op.f("uq_users_oidc_issuer_oidc_subject"), "users", ["oidc_issuer", "oidc_subject"]
    )

    op.add_column("customers", sa.Column("key_safe_ciphertext", sa.Text(), nullable=True))
    op.add_column("customers", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, key_safe_info FROM customers WHERE key_safe_info IS NOT NULL")
    ).all()
    if rows:
        from arc.kit.crypto import key_safe_context

        cipher = _cipher()
        for customer_id, plaintext in rows:
            conn.execute(
                sa.text("UPDATE customers SET key_safe_ciphertext = :c WHERE id = :i"),
                {"c": cipher.encrypt(plaintext, context=key_safe_context(customer_id)), "i": customer_id},
            )
    op.drop_column("customers", "key_safe_info")


def downgrade() -> None:
    op.add_column("customers", sa.Column("key_safe_info", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, key_safe_ciphertext FROM customers WHERE key_safe_ciphertext IS NOT NULL")
    ).all()
    if rows:
        from arc.kit.crypto import key_safe_context

        cipher = _cipher()
        for customer_id, token in rows:
            conn.execute(
                sa.text("UPDATE customers SET key_safe_info = :p WHERE id = :i"),
                {"p": cipher.decrypt(token, context=key_safe_context(customer_id)), "i": customer_id},
            )
    op.drop_column("customers", "erased_at")
    op.drop_column("customers", "key_safe_ciphertext")

    op.drop_constraint(op.f("uq_users_oidc_issuer_oidc_subject"), "users", type_="unique")
    op.drop_constraint(op.f("ck_users_extra_roles_known"), "users", type_="check")
    op.drop_column("users", "oidc_subject")
    op.drop_column("users", "oidc_issuer")
    op.drop_column("users", "extra_roles")

    op.drop_index("ix_login_failures_ip_at", table_name="login_failures")
    op.drop_table("login_failures")

    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index("ix_audit_log_customer_at", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_at", table_name="audit_log")
    op.drop_table("audit_log")
