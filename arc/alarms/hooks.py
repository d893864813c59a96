"""Where the alarm write path lets higher layers react, without importing them.

The composition layer (``arc/flows.py``) registers, once, what must happen when
- an alarm is **accepted** (the ingest answers the unit's waiting sessions ``snu 0``, through
  the ``publisher`` the caller passes along — the app's MQTT client, or None), and
- an alarm is **closing** (dispatch cancels the requests nobody took up).

A closing hook returns a dict that is merged into the ``closed`` event's data (e.g.
``{"cancelled_tasks": [...]}``). Hooks run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from arc.alarms.models import Alarm

AcceptedHook = Callable[[AsyncSession, "Alarm", Any], Awaitable[None]]
ClosingHook = Callable[[AsyncSession, "Alarm", datetime], Awaitable[dict[str, Any]]]

_accepted: dict[str, AcceptedHook] = {}
_closing: dict[str, ClosingHook] = {}


def on_accepted(name: str, hook: AcceptedHook) -> None:
    _accepted[name] = hook


def on_closing(name: str, hook: ClosingHook) -> None:
    _closing[name] = hook


async def accepted(session: AsyncSession, alarm: Alarm, publisher: Any = None) -> None:
    for hook in _accepted.values():
        await hook(session, alarm, publisher)


async def closing(session: AsyncSession, alarm: Alarm, now: datetime) -> dict[str, Any]:
    done: dict[str, Any] = {}
    for hook in _closing.values():
        done.update(await hook(session, alarm, now))
    return done
