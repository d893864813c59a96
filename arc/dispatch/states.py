"""The response-task state machine.

    requested -> accepted -> en_route -> arrived -> done
    requested -> declined | no_answer | escalated (the system, when nobody accepts in time)
    any open state -> cancelled (operator)

Moving forward along the main line may skip steps (a responder who phones to say
"I'm here" has accepted and travelled). A task that escalated may still be
taken up late: help that turns up is never refused. Repeating the current
status is a harmless no-op (a double tap on a phone).
"""

from __future__ import annotations

from arc.kit.errors import Conflict, ErrorCode

MAIN_LINE = ("requested", "accepted", "en_route", "arrived", "done")
TERMINAL = ("declined", "no_answer", "done", "cancelled")
OPEN = ("requested", "accepted", "en_route", "arrived")
# stamp column for each status reached
STAMPS = {
    "accepted": "accepted_at",
    "en_route": "en_route_at",
    "arrived": "arrived_at",
    "done": "done_at",
    "declined": "ended_at",
    "no_answer": "ended_at",
    "escalated": "ended_at",
    "cancelled": "ended_at",
}

_ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "declined": ("requested", "escalated", "accepted", "en_route"),
    "no_answer": ("requested", "escalated"),
    "escalated": ("requested",),
    "cancelled": ("requested", "escalated", "accepted", "en_route", "arrived"),
}


def allowed(current: str, new: str) -> bool:
    if new in MAIN_LINE[1:]:
        if current == "escalated":
            return True
        return current in MAIN_LINE and MAIN_LINE.index(new) > MAIN_LINE.index(current)
    return current in _ALLOWED_FROM.get(new, ())


def check(current: str, new: str) -> None:
    if not allowed(current, new):
        raise Conflict(f"a {current} task cannot become {new}", code=ErrorCode.BAD_TRANSITION)
