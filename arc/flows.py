"""How the domains work together, wired in one place (composition layer).

A lower layer that must cause something in a higher one exposes a hook; it is connected
here, never by a lazy import:

- accepting an alarm answers the unit: ``alarms.write.take`` → ingest's ``answer_alarm_sessions``;
- closing an alarm cancels the responder requests nobody took up: ``alarms.write.close`` →
  dispatch's ``cancel_open_requests``.
"""

from __future__ import annotations

from arc.alarms import hooks
from arc.dispatch.service import cancel_open_requests
from arc.ingest.replies import answer_alarm_sessions


async def _answer_unit(session, alarm, publisher) -> None:
    await answer_alarm_sessions(session, publisher, alarm.id, snu=0)


def wire_flows() -> None:
    """Idempotent; called by ``create_app`` and by anything that runs the domains without it."""
    hooks.on_accepted("ingest.answer_unit", _answer_unit)
    hooks.on_closing("dispatch.cancel_open_requests", cancel_open_requests)
