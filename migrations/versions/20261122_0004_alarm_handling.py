"""alarm handling: outcome codes, call scripts, response tasks, delivery attempts

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 20:00:00+00:00

Written by hand. The default outcome codes and call scripts are copied here
(not imported) so this revision always seeds what it seeded on the day it was
written; later edits happen through the API.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = [
    ("false_alarm", "False alarm"),
    ("assistance_by_phone", "Assistance given by phone"),
    ("family_attended", "Family / nominated responder attended"),
    ("ers_attended", "ERS attended"),
    ("ambulance_called", "Ambulance called"),
    ("fire_service_called", "Fire service called"),
    ("police_called", "Police called"),
    ("no_answer_escalated", "No answer — escalated"),
    ("cancelled_at_unit", "Cancelled at the unit"),
    ("technical_fault", "Technical fault"),
    ("test_call", "Test call"),
]

_LIFE = (
    "1. Speak through the unit: introduce yourself and ask if they need help.\n"
    "2. No answer or help needed: call the customer's phone, then follow the responder plan.\n"
)
SCRIPTS = {
    "default": _LIFE + "3. Record what happened and close with an outcome.",
    "dty:0003": "Pendant pressed.\n"
    + _LIFE
    + "3. If they have fallen or are hurt: do not ask them to get up; "
    "send a responder, or call 999 if injured or unresponsive.",
    "dty:0004": "Pull-cord pulled.\n" + _LIFE + "3. Ask where they are in the home and what happened.",
    "dty:0005": "Fall detected.\n" + _LIFE + "3. Assume a fall until told otherwise: ask about pain, head "
    "injury, how long on the floor. Send a responder; 999 if injured, unresponsive or on the floor > 1 h.",
    "dty:0023": "SMOKE DETECTOR.\n1. Speak through the unit: is there a fire? Tell them to get out and stay "
    "out.\n2. No answer or fire confirmed: call 999 fire service NOW, then the responder plan.",
    "dty:0025": "HEAT DETECTOR.\n1. Speak through the unit: is there a fire? Tell them to get out.\n"
    "2. No answer or fire confirmed: call 999 fire service NOW, then the responder plan.",
    "dty:0026": "CARBON MONOXIDE.\n1. Tell them to open windows, turn off appliances and go outside.\n"
    "2. Call 999 if anyone is unwell; gas emergency line 0800 111 999; then the responder plan.",
    "dty:0033": "Flood detector.\n1. Ask if water is escaping and if they can turn off the stopcock safely.\n"
    "2. Send a responder if they cannot cope.",
    "dty:0051": "Mobile GPS unit.\n1. Speak to the wearer; open the map link for their location.\n"
    "2. Send help to the location shown if they need it.",
    "stc:0016": "Battery low (technical). Arrange a battery change with the TEC team; no call needed at night.",
    "stc:0085": "Mains failure (technical). Call the customer to check the unit is plugged in and power is on.",
    "stc:0023": "IP link failure (technical). The unit falls back to mobile; log it for the TEC team.",
    "stc:0024": "Mobile link failure (technical). Log it for the TEC team.",
    "kind:no_comms": "Unit not heard from. Call the customer to check they are safe and the unit is powered; "
    "send a responder if there is no answer and they are high risk.",
    "kind:unknown_unit": "Alarm from a unit we do not know. Treat it as a real alarm: speak through the "
    "unit, find out who and where they are, send help, then tell the TEC team.",
}


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    outcome_codes = op.create_table(
        "outcome_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), server_default="100", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_outcome_codes_code")),
    )
    call_scripts = op.create_table(
        "call_scripts",
        sa.Column("match", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_scripts")),
        sa.UniqueConstraint("match", name=op.f("uq_call_scripts_match")),
    )
    op.create_table(
        "response_tasks",
        sa.Column("alarm_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("responder_id", sa.BigInteger(), nullable=True),
        sa.Column("ers_user_id", sa.BigInteger(), nullable=True),
        sa.Column("service", sa.String(length=16), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("en_route_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "kind IN ('responder', 'ers', 'emergency')", name=op.f("ck_response_tasks_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'accepted', 'declined', 'no_answer', 'en_route', 'arrived', 'done', "
            "'escalated', 'cancelled')",
            name=op.f("ck_response_tasks_status_known"),
        ),
        sa.CheckConstraint(
            "service IS NULL OR service IN ('ambulance', 'fire', 'police')",
            name=op.f("ck_response_tasks_service_known"),
        ),
        sa.CheckConstraint(
            "kind <> 'emergency' OR service IS NOT NULL", name=op.f("ck_response_tasks_emergency_has_service")
        ),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_response_tasks_alarm_id_alarms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["responder_id"],
            ["responders.id"],
            name=op.f("fk_response_tasks_responder_id_responders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ers_user_id"], ["users.id"], name=op.f("fk_response_tasks_ers_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_response_tasks_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_tasks")),
    )
    op.create_index(op.f("ix_response_tasks_alarm_id"), "response_tasks", ["alarm_id"], unique=False)
    op.create_index(
        "ix_response_tasks_due",
        "response_tasks",
        ["escalate_at"],
        unique=False,
        postgresql_where="status = 'requested'",
    )
    op.create_index("ix_response_tasks_ers_user", "response_tasks", ["ers_user_id", "status"], unique=False)
    op.create_table(
        "delivery_attempts",
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "outcome IN ('pending', 'sent', 'failed')", name=op.f("ck_delivery_attempts_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["response_tasks.id"],
            name=op.f("fk_delivery_attempts_task_id_response_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(op.f("ix_delivery_attempts_task_id"), "delivery_attempts", ["task_id"], unique=False)
    op.bulk_insert(
        outcome_codes,
        [
            {"code": code, "label": label, "position": (n + 1) * 10}
            for n, (code, label) in enumerate(OUTCOMES)
        ],
    )
    op.bulk_insert(call_scripts, [{"match": match, "text": text} for match, text in SCRIPTS.items()])


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_attempts_task_id"), table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_response_tasks_ers_user", table_name="response_tasks")
    op.drop_index(
        "ix_response_tasks_due", table_name="response_tasks", postgresql_where="status = 'requested'"
    )
    op.drop_index(op.f("ix_response_tasks_alarm_id"), table_name="response_tasks")
    op.drop_table("response_tasks")
    op.drop_table("call_scripts")
    op.drop_table("outcome_codes")
