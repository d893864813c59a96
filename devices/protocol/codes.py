"""Code tables of the unit protocol: device types, status codes, `snu` answers."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CodecError(ValueError):
    """A value that the wire protocol cannot accept."""


class Snu(IntEnum):
    """`snu` values of an `mrs` reply."""

    OK = 0
    TOO_LONG = 1
    INVALID_FORMAT = 2
    WRONG_DATA = 3
    HOLD = 4
    NOT_TREATED = 5
    BUSY = 6
    TAG_MISSING = 7
    REF_MISSING = 10


SNU_TEXT: dict[int, str] = {
    Snu.OK: "OK",
    Snu.TOO_LONG: "message too long",
    Snu.INVALID_FORMAT: "invalid format",
    Snu.WRONG_DATA: "wrong data content",
    Snu.HOLD: "hold",
    Snu.NOT_TREATED: "not treated",
    Snu.BUSY: "busy",
    Snu.TAG_MISSING: "mandatory tag missing",
    Snu.REF_MISSING: "reference missing",
}

DEVICE_TYPES: dict[str, str] = {
    "0003": "pendant / personal trigger",
    "0004": "pull-cord / fixed trigger",
    "0005": "fall detector",
    "0011": "pill dispenser",
    "0012": "bed monitor",
    "0014": "door sensor",
    "0018": "occupancy sensor (PIR)",
    "0020": "environmental monitor",
    "0023": "smoke detector",
    "0025": "heat detector",
    "0026": "CO detector",
    "0033": "flood detector",
    "0044": "chair monitor",
    "0051": "tracking unit (mobile GPS)",
}

STATUS_CODES: dict[str, str] = {
    "0009": "alarm (automatic)",
    "0010": "alarm (manual)",
    "0016": "battery low",
    "0023": "IP link failure",
    "0024": "mobile link failure",
    "0026": "primary link failure",
    "0027": "redundant link failure",
    "0081": "pill not taken",
    "0082": "pill reminder",
    "0083": "pill taken",
    "0085": "mains failure",
    "0086": "mains restored",
    "0093": "manual reset",
    "0100": "temperature high",
    "0101": "temperature low",
    "0102": "test transmission (primary)",
    "0103": "test transmission (redundant)",
    "0112": "IP link restored",
    "0113": "mobile link restored",
    "0117": "lying in bed",
    "0123": "radio test missing",
    "0125": "tamper",
}

# Restore code -> the failure code it clears.
RESTORES: dict[str, str] = {"0112": "0023", "0113": "0024", "0086": "0085"}


class StatusCategory(StrEnum):
    """What a status code asks the ARC to do."""

    ALARM = "alarm"
    TECHNICAL = "technical"
    TEST = "test"
    PILL = "pill"
    RESET = "reset"
    ACTIVITY = "activity"
    OTHER = "other"


class DeviceCategory(StrEnum):
    """Broad family of a device type."""

    PERSONAL = "personal"
    ENVIRONMENTAL = "environmental"
    ACTIVITY = "activity"
    OTHER = "other"


_LINK = ("0023", "0112", "0024", "0113", "0026", "0027")
_TECHNICAL = ("0016", "0085", "0086", "0100", "0101", "0123", "0125", *_LINK)

_STATUS_CATEGORIES: dict[str, StatusCategory] = {
    **dict.fromkeys(("0009", "0010"), StatusCategory.ALARM),
    **dict.fromkeys(_TECHNICAL, StatusCategory.TECHNICAL),
    **dict.fromkeys(("0102", "0103"), StatusCategory.TEST),
    **dict.fromkeys(("0081", "0082", "0083"), StatusCategory.PILL),
    "0093": StatusCategory.RESET,
    "0117": StatusCategory.ACTIVITY,
}

_DEVICE_CATEGORIES: dict[str, DeviceCategory] = {
    **dict.fromkeys(("0003", "0004", "0005", "0051"), DeviceCategory.PERSONAL),
    **dict.fromkeys(("0020", "0023", "0025", "0026", "0033"), DeviceCategory.ENVIRONMENTAL),
    **dict.fromkeys(("0011", "0012", "0014", "0018", "0044"), DeviceCategory.ACTIVITY),
}


def normalise_code(value: str | int) -> str:
    """Return a device-type or status code as 4 digits ("2" -> "0002", 102 -> "0102").

    Raises CodecError for anything but 1-4 ASCII digits or an int 0-9999.
    """
    if isinstance(value, bool):
        raise CodecError("code must be digits, not a boolean")
    if isinstance(value, int):
        if not 0 <= value <= 9999:
            raise CodecError("code must be 0-9999")
        return f"{value:04d}"
    if isinstance(value, str):
        text = value.strip()
        if 1 <= len(text) <= 4 and text.isascii() and text.isdigit():
            return text.zfill(4)
        raise CodecError("code must be 1-4 digits")
    raise CodecError("code must be a string of digits or an integer")


def device_type_name(code: str | int) -> str:
    """Human name of a device type; "device type NNNN" when unknown."""
    dty = normalise_code(code)
    return DEVICE_TYPES.get(dty, f"device type {dty}")


def status_name(code: str | int) -> str:
    """Human name of a status code."""
    stc = normalise_code(code)
    if stc in STATUS_CODES:
        return STATUS_CODES[stc]
    if "0900" <= stc <= "0999":
        return f"vendor-specific status {stc}"
    return f"status {stc}"


def status_category(stc: str | int | None) -> StatusCategory:
    """Category of a status code; an absent code (None) means an alarm."""
    if stc is None:
        return StatusCategory.ALARM
    return _STATUS_CATEGORIES.get(normalise_code(stc), StatusCategory.OTHER)


def device_category(dty: str | int) -> DeviceCategory:
    """Category of a device type."""
    return _DEVICE_CATEGORIES.get(normalise_code(dty), DeviceCategory.OTHER)


def restored_failure(stc: str | int | None) -> str | None:
    """The failure code that a restore status clears (0112 -> 0023), else None."""
    if stc is None:
        return None
    return RESTORES.get(normalise_code(stc))
