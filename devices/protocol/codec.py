"""Decode `mrq` payloads (JSON or SCAIP XML) and encode `mrs` replies. Pure, stdlib only."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from devices.protocol.codes import CodecError, Snu, normalise_code
from devices.protocol.messages import DEFAULT_VERSION, MESSAGE_TYPES, Fmt, GeoFix, Mrq, Mrs
from devices.protocol.reading import KNOWN_TAGS, SNIFF_XML, Reject, read_tags, ref_or_none, sniff_ref
from devices.protocol.reading import MAX_DEPTH as MAX_DEPTH  # re-exported: public names unchanged
from devices.protocol.reading import SourceNumber as SourceNumber
from devices.protocol.reading import load_json as load_json

_log = logging.getLogger(__name__)

MAX_BYTES = 8192
QOS = 1
MRQ_SUBSCRIPTION = "lifeline/+/mrq"

_TEXT_TAGS = ("did", "dco", "dte", "stt", "cha", "lco", "lva", "lte", "hbo")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)

_json_str = json.encoder.encode_basestring  # a str as JSON writes it with ensure_ascii=False
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- topics -----------------------------------------------------------------


DEFAULT_ROOT = "lifeline"


def mrq_topic(cid: str, root: str = DEFAULT_ROOT) -> str:
    return f"{root}/{cid}/mrq"


def mrs_topic(cid: str, root: str = DEFAULT_ROOT) -> str:
    return f"{root}/{cid}/mrs"


def status_topic(cid: str, root: str = DEFAULT_ROOT) -> str:
    return f"{root}/{cid}/status"


def mrq_subscription(root: str = DEFAULT_ROOT, shared_group: str | None = None) -> str:
    """The ingest's topic filter; `$share/<group>/...` when processes split the load."""
    topic = f"{root}/+/mrq"
    return f"$share/{shared_group}/{topic}" if shared_group else topic


def reply_topic(mrq_topic_name: str) -> str:
    """The `mrs` topic answering a message received on `mrq_topic_name` (`{root}/{x}/mrq`)."""
    head, _, _ = mrq_topic_name.rpartition("/")
    return f"{head}/mrs"


def cid_from_topic(topic: str, root: str = DEFAULT_ROOT) -> str | None:
    """The cid of a `{root}/{cid}/mrq` topic, or None if the topic is not one."""
    if not topic.startswith(root + "/"):
        return None
    parts = topic[len(root) + 1 :].split("/")
    if len(parts) == 2 and parts[1] == "mrq":
        cid = parts[0]
        if cid.isascii() and cid.isdigit():
            return cid
    return None


# --- results ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request that cannot be accepted, with the `snu` to answer it with.

    `reason` is a short machine code (too_long, invalid_format, missing_ref,
    missing_tag, bad_value, cid_mismatch); `detail` names the field and never
    echoes the unit's data, so it is safe to log and to send back as `ste`.
    """

    snu: int
    reason: str
    detail: str
    ref: str | None = None
    fmt: Fmt = "json"

    def to_mrs(self) -> Mrs:
        return Mrs(ref=self.ref, snu=self.snu, ste=self.detail)


Decoded = Mrq | Rejection
_Bad = Callable[..., Reject]


# --- decoding ---------------------------------------------------------------


def decode_mrq(payload: bytes, topic_cid: str | None, max_bytes: int = MAX_BYTES) -> Decoded:
    """Decode and validate one `mrq`. Never raises: every failure is a Rejection.

    `topic_cid` is the cid from the MQTT topic (None skips the check).
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    elif isinstance(payload, bytearray | memoryview):
        payload = bytes(payload)
    elif not isinstance(payload, bytes):
        return Rejection(Snu.INVALID_FORMAT, "invalid_format", "payload is not bytes")
    fmt: Fmt = "xml" if SNIFF_XML.match(payload) else "json"
    try:
        tags, repeated = read_tags(payload, max_bytes, fmt)
        return _build(tags, repeated, topic_cid, fmt)
    except Reject as rej:
        return Rejection(rej.snu, rej.reason, rej.detail, rej.ref, fmt)
    except Exception as exc:  # last resort: one bad message must never break the ingest loop
        _log.error("mrq decoder failed unexpectedly: %s", type(exc).__name__)
        return Rejection(Snu.INVALID_FORMAT, "invalid_format", "unreadable message", sniff_ref(payload), fmt)


# --- validation -------------------------------------------------------------


def _build(tags: dict[str, Any], repeated: set[str], topic_cid: str | None, fmt: Fmt) -> Mrq:
    """Validate tags in the order SCAIP answers them: ref (10), mandatory (7), content (3)."""
    if "ref" in repeated:
        raise Reject(Snu.REF_MISSING, "missing_ref", "tag 'ref' given more than once")
    if _blank(tags.get("ref")):
        raise Reject(Snu.REF_MISSING, "missing_ref", "tag 'ref' is missing")
    ref = ref_or_none(tags)
    if ref is None:
        raise Reject(Snu.REF_MISSING, "missing_ref", "tag 'ref' must be 1-16 letters or digits")

    def bad(detail: str, reason: str = "bad_value") -> Reject:
        return Reject(Snu.WRONG_DATA, reason, detail, ref)

    for name in ("cid", "dty"):
        if _blank(tags.get(name)):
            raise Reject(Snu.TAG_MISSING, "missing_tag", f"tag '{name}' is missing", ref)
    if repeated:
        raise bad(f"tag '{sorted(repeated)[0]}' given more than once")

    cid = _cid(tags["cid"], bad)
    if topic_cid is not None and cid != topic_cid:
        raise bad("tag 'cid' does not match the topic", "cid_mismatch")

    mty = (_text(tags, "mty", bad) or "ME").upper()
    if mty not in MESSAGE_TYPES:
        raise bad("tag 'mty' must be one of ME, RE, IN, PI")

    # tags not given are left to Mrq's defaults; those given are checked in the same order as ever
    # (the text tags, dty, stc, pri, crd, lge, ver, tim), so the first bad one is the one named
    texts = {name: _text(tags, name, bad) for name in _TEXT_TAGS if name in tags}
    dty = _code(tags["dty"], "dty", bad)
    stc = tags.get("stc")
    stc = None if _blank(stc) else _code(stc, "stc", bad)
    pri = _pri(tags["pri"], bad) if "pri" in tags else None
    crd = _crd(tags["crd"], bad) if "crd" in tags else []
    lge = _lge(tags["lge"], bad) if "lge" in tags else None
    ver = (_text(tags, "ver", bad) if "ver" in tags else None) or DEFAULT_VERSION
    tim = _time(tags["tim"], "tim", bad) if "tim" in tags else None
    extra = {} if tags.keys() <= KNOWN_TAGS else {k: v for k, v in tags.items() if k not in KNOWN_TAGS}
    return Mrq(
        ref=ref,
        cid=cid,
        dty=dty,
        mty=mty,
        stc=stc,
        pri=pri,
        crd=crd,
        lge=lge,
        ver=ver,
        tim=tim,
        extra=extra,
        fmt=fmt,
        **texts,
    )


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(tags: dict[str, Any], name: str, bad: _Bad) -> str | None:
    raw = tags.get(name)
    if _blank(raw):
        return None
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise bad(f"tag '{name}' must be text")


def _cid(raw: Any, bad: _Bad) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return str(raw)
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        return raw.strip()
    raise bad("tag 'cid' must be digits")


def _code(raw: Any, name: str, bad: _Bad) -> str:
    try:
        return normalise_code(raw)
    except CodecError:
        raise bad(f"tag '{name}' must be a code of 1-4 digits") from None


def _pri(raw: Any, bad: _Bad) -> int | None:
    if _blank(raw):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 9:
        return raw
    if isinstance(raw, str) and len(raw.strip()) == 1 and raw.strip() in "0123456789":
        return int(raw.strip())
    raise bad("tag 'pri' must be a number 0-9")


def _crd(raw: Any, bad: _Bad) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) for item in items):
        raise bad("tag 'crd' must be a string or a list of strings")
    return [item.strip() for item in items if item.strip()]


def _lge(raw: Any, bad: _Bad) -> GeoFix | None:
    if _blank(raw):
        return None
    if not isinstance(raw, dict):
        raise bad("tag 'lge' must hold 'geo' and optionally 'tim'")
    geo = raw.get("geo")
    parts = geo.split(",") if isinstance(geo, str) else []
    if len(parts) != 2 or not all(_NUMBER.fullmatch(part.strip()) for part in parts):
        raise bad("tag 'lge.geo' must be 'lat,lon' in decimal degrees")
    lat, lon = float(parts[0]), float(parts[1])
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad("tag 'lge.geo' is out of range")
    return GeoFix(lat=lat, lon=lon, tim=_time(raw.get("tim"), "lge.tim", bad))


def _time(raw: Any, name: str, bad: _Bad) -> datetime | None:
    if _blank(raw):
        return None
    try:
        if not isinstance(raw, str) or len(raw) > 64:
            raise ValueError(name)
        value = datetime.fromisoformat(raw.strip())
        if value.utcoffset() is None:
            raise ValueError(name)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad(f"tag '{name}' must be an ISO-8601 time with offset") from None


# --- encoding ---------------------------------------------------------------


def encode_mrs(mrs: Mrs, fmt: str) -> bytes:
    """Encode a reply as compact JSON or as `<mrs>` XML (for units that spoke XML)."""
    if fmt == "json" and type(mrs.hbi) in (int, type(None)):
        # what json.dumps(fields, separators=(",", ":"), ensure_ascii=False) writes, without building
        # an encoder per reply (every answer passes here)
        hbi = "" if mrs.hbi is None else f',"hbi":{mrs.hbi}'
        text = f'{{"ref":{_json_str(mrs.ref or "")},"snu":{int(mrs.snu)},"ste":{_json_str(mrs.ste)}{hbi}}}'
        return text.encode("utf-8", "replace")
    fields: dict[str, Any] = {"ref": mrs.ref or "", "snu": int(mrs.snu), "ste": mrs.ste}
    if mrs.hbi is not None:
        fields["hbi"] = mrs.hbi
    if fmt == "json":
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")
    if fmt == "xml":
        body = "".join(f"<{tag}>{_xml_text(value)}</{tag}>" for tag, value in fields.items())
        return f"<mrs>{body}</mrs>".encode()
    raise ValueError(f"unknown format {fmt!r}")


def _xml_text(value: Any) -> str:
    return escape(_XML_ILLEGAL.sub("", str(value)))
