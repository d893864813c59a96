"""Every table of devices, arc and billing, imported in one place (Alembic, tests)."""

from arc.alarms.events import LiveEvent
from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.outcomes import OutcomeCode
from arc.alarms.scripts import CallScript
from arc.audit.models import AuditEntry
from arc.auth.models import LoginFailure, User
from arc.dispatch.models import DeliveryAttempt, ResponseTask
from arc.history.models import Flag, FlagCursor, FlagReview, FlagThresholdsRow
from arc.ingest.models import InboxMessage, RejectedMessage
from arc.kit.model import Base
from arc.registry.models import Absence, Connection, Customer, Responder, UnitAssignment
from arc.registry.sip import UnitLogin, UnitSipCredential
from arc.registry.units import Peripheral, Unit
from billing.models import (
    Account,
    Document,
    DocumentLine,
    Run,
    Sequence,
    StripeEvent,
    Tariff,
    TariffPrice,
    Waiver,
)

__all__ = [
    "Absence",
    "Account",
    "Alarm",
    "AlarmEvent",
    "AuditEntry",
    "Base",
    "CallScript",
    "Connection",
    "Customer",
    "DeliveryAttempt",
    "Document",
    "DocumentLine",
    "Flag",
    "FlagCursor",
    "FlagReview",
    "FlagThresholdsRow",
    "InboxMessage",
    "LiveEvent",
    "LoginFailure",
    "OutcomeCode",
    "Peripheral",
    "RejectedMessage",
    "Responder",
    "ResponseTask",
    "Run",
    "Sequence",
    "StripeEvent",
    "Tariff",
    "TariffPrice",
    "Unit",
    "UnitAssignment",
    "UnitLogin",
    "UnitSipCredential",
    "User",
    "Waiver",
]
