"""Which alarm comes first. Rank 1 is the most urgent; the queue sorts by (rank, age).

Life-safety first (fire, smoke, heat, CO; then falls, pendants, pull-cords,
mobile units and anything from an unknown unit), then activity and care
alarms (inactivity, bed / chair, door, PIR, pill, flood, temperature), then
technical faults (no-comms, battery, mains, links, tamper), tests last.

The table is configurable: ``LIFELINE_PRIORITY_OVERRIDES`` is a JSON object
of rule -> rank, with rules ``stc:NNNN``, ``dty:NNNN``, ``kind:<kind>`` or
``category:<category>``; the first matching rule in that order wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.protocol.codes import DeviceCategory, StatusCategory, device_category, status_category

FIRE = 10
PERSONAL = 20
CARE = 30
TECHNICAL = 40
TEST = 50

DEFAULT_RULES: dict[str, int] = {
    # device types
    "dty:0023": FIRE,  # smoke
    "dty:0025": FIRE,  # heat
    "dty:0026": FIRE,  # CO
    "dty:0005": PERSONAL,  # fall detector
    "dty:0003": PERSONAL,  # pendant
    "dty:0004": PERSONAL,  # pull-cord
    "dty:0051": PERSONAL,  # mobile GPS unit
    "dty:0033": CARE,  # flood
    "dty:0020": CARE,  # environmental monitor
    # kinds raised by the service itself
    "kind:unknown_unit": PERSONAL,
    "kind:no_comms": TECHNICAL,
    # categories, as the fall-back
    "category:environmental": FIRE,
    "category:personal": PERSONAL,
    "category:activity": CARE,
    "category:technical": TECHNICAL,
    "category:test": TEST,
}


@dataclass(frozen=True)
class Classification:
    category: str  # personal | environmental | activity | technical | test
    rank: int


def classify(
    dty: str | None, stc: str | None, *, kind: str = "activation", overrides: dict[str, int] | None = None
) -> Classification:
    """Category and priority rank of an activation (or a service-raised alarm ``kind``)."""
    rules = {**DEFAULT_RULES, **(overrides or {})}
    category = _category(dty, stc, kind)
    for key in (f"stc:{stc}" if stc else None, f"dty:{dty}" if dty else None, f"kind:{kind}"):
        if key and key in rules and not _demoted(category, key):
            return Classification(category, rules[key])
    return Classification(category, rules.get(f"category:{category}", PERSONAL))


def _demoted(category: str, key: str) -> bool:
    """A device-type rule never lifts a technical or test message (a smoke detector's
    low battery is a fault, not a fire)."""
    return key.startswith("dty:") and category in ("technical", "test")


def _category(dty: str | None, stc: str | None, kind: str) -> str:
    if kind == "no_comms":
        return "technical"
    status = status_category(stc)
    if status == StatusCategory.TEST:
        return "test"
    if status == StatusCategory.TECHNICAL:
        return "technical"
    if status in (StatusCategory.PILL, StatusCategory.ACTIVITY):
        return "activity"
    device = device_category(dty) if dty else DeviceCategory.OTHER
    if device == DeviceCategory.ENVIRONMENTAL:
        return "environmental"
    if device == DeviceCategory.ACTIVITY:
        return "activity"
    return "personal"  # personal devices and anything unknown: when in doubt, treat it as a person
