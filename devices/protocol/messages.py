"""Message types of the unit protocol: the request `Mrq` and the response `Mrs`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from devices.protocol.codes import SNU_TEXT, Snu

Fmt = Literal["json", "xml"]
MESSAGE_TYPES = frozenset({"ME", "RE", "IN", "PI"})
DEFAULT_VERSION = "01.00"

# Fields left out of the content digest: the session key and the wire format.
_DIGEST_EXCLUDED = frozenset({"ref", "fmt"})


@dataclass(frozen=True, slots=True)
class GeoFix:
    """A GPS fix (`lge`): latitude, longitude and the time of the fix (UTC) if given."""

    lat: float
    lon: float
    tim: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "tim": _iso(self.tim)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Mrq:
    """A decoded, validated request from a unit. Codes are 4 digits; times are UTC."""

    ref: str
    cid: str
    dty: str
    mty: str = "ME"
    did: str | None = None
    dco: str | None = None
    dte: str | None = None
    stc: str | None = None
    stt: str | None = None
    pri: int | None = None
    cha: str | None = None
    crd: list[str] = field(default_factory=list)
    lco: str | None = None
    lva: str | None = None
    lte: str | None = None
    lge: GeoFix | None = None
    hbo: str | None = None
    ver: str = DEFAULT_VERSION
    tim: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fmt: Fmt = "json"

    @property
    def accepts_hbi(self) -> bool:
        """True when the unit sent `hbo: "001"` (it accepts the interval the ARC sets)."""
        hbo = self.hbo
        return hbo is not None and hbo.isascii() and hbo.isdigit() and int(hbo) == 1

    @property
    def callback_requested(self) -> bool:
        return self.cha == "1"

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-safe form, used for storage; `from_dict` reverses it."""
        return {
            "ref": self.ref,
            "cid": self.cid,
            "dty": self.dty,
            "mty": self.mty,
            "did": self.did,
            "dco": self.dco,
            "dte": self.dte,
            "stc": self.stc,
            "stt": self.stt,
            "pri": self.pri,
            "cha": self.cha,
            "crd": list(self.crd),
            "lco": self.lco,
            "lva": self.lva,
            "lte": self.lte,
            "lge": self.lge.to_dict() if self.lge else None,
            "hbo": self.hbo,
            "ver": self.ver,
            "tim": _iso(self.tim),
            "extra": dict(self.extra),
            "fmt": self.fmt,
        }

    def stored_dict(self) -> dict[str, Any]:
        """``to_dict`` without its absent fields (None, empty `crd`, empty `extra`): what the inbox
        keeps. Built directly (a third of the cost of filtering ``to_dict``; every message passes)."""
        out = {}
        for name in _PLAIN_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.crd:
            out["crd"] = list(self.crd)
        if self.lge is not None:
            out["lge"] = self.lge.to_dict()
        if self.tim is not None:
            out["tim"] = _iso(self.tim)
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mrq:
        """Rebuild a message stored with `to_dict` (trusted input, not wire input)."""
        values = dict(data)
        lge = values.get("lge")
        if lge is not None:
            values["lge"] = GeoFix(float(lge["lat"]), float(lge["lon"]), _from_iso(lge.get("tim")))
        values["tim"] = _from_iso(values.get("tim"))
        values["crd"] = list(values.get("crd") or [])
        values["extra"] = dict(values.get("extra") or {})
        return cls(**values)

    def content_digest(self) -> str:
        """SHA-256 hex of the message content, ignoring `ref` and the wire format.

        Two `IN` updates sharing one `ref` differ in digest exactly when their
        content differs; absent and empty fields do not count, so a JSON and an
        XML rendering of the same message share a digest. `mty` is included.
        """
        content = {
            key: value
            for key, value in self.to_dict().items()
            if key not in _DIGEST_EXCLUDED and value not in (None, [], {})
        }
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# the fields ``stored_dict`` copies as they are (the others are converted or left out when empty)
_PLAIN_FIELDS = tuple(f.name for f in fields(Mrq) if f.name not in ("crd", "lge", "tim", "extra"))


@dataclass(frozen=True, slots=True)
class Mrs:
    """A response to a unit. `ref` is None only when the request had no usable ref."""

    ref: str | None
    snu: int
    ste: str = ""
    hbi: int | None = None

    def __post_init__(self) -> None:
        if self.snu not in SNU_TEXT:
            raise ValueError(f"unknown snu {self.snu!r}")
        if self.hbi is not None and not (isinstance(self.hbi, int) and 1 <= self.hbi <= 1440):
            raise ValueError("hbi must be 1-1440 minutes")

    @classmethod
    def reply(cls, ref: str | None, snu: int, *, hbi: int | None = None, ste: str | None = None) -> Mrs:
        """An `mrs` with the standard text for `snu` unless `ste` is given."""
        return cls(ref=ref, snu=snu, ste=SNU_TEXT[Snu(snu)] if ste is None else ste, hbi=hbi)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
