"""Every table of devices and arc, imported in one place (Alembic, tests)."""

from arc.alarms.models import Alarm, AlarmEvent
from arc.audit.models import AuditEntry
from arc.auth.models import LoginFailure, User
from arc.ingest.models import InboxMessage, RejectedMessage
from arc.live.models import LiveEvent
from arc.registry.models import Connection, Customer, Responder
from devices.base import Base
from devices.registry.models import Peripheral, Unit

__all__ = [
    "Alarm",
    "AlarmEvent",
    "AuditEntry",
    "Base",
    "Connection",
    "Customer",
    "InboxMessage",
    "LiveEvent",
    "LoginFailure",
    "Peripheral",
    "RejectedMessage",
    "Responder",
    "Unit",
    "User",
]
