"""Decode `mrq` payloads (JSON or SCAIP XML) and encode `mrs` replies. Pure, stdlib only."""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from devices.protocol.codes import CodecError, Snu, normalise_code
from devices.protocol.messages import DEFAULT_VERSION, MESSAGE_TYPES, Fmt, GeoFix, Mrq, Mrs

_log = logging.getLogger(__name__)

MAX_BYTES = 8192
MAX_DEPTH = 32
QOS = 1
MRQ_SUBSCRIPTION = "lifeline/+/mrq"

KNOWN_TAGS = frozenset(
    {"ref", "cid", "dty", "mty", "did", "dco", "dte", "stc", "stt", "pri", "cha", "crd"}
    | {"lco", "lva", "lte", "lge", "hbo", "ver", "tim"}
)
_TEXT_TAGS = ("did", "dco", "dte", "stt", "cha", "lco", "lva", "lte", "hbo")

_REF = re.compile(r"[A-Za-z0-9]{1,16}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_SNIFF_XML = re.compile(rb"(?:\xef\xbb\xbf)?\s*<")
_SNIFF_REF = (
    re.compile(rb'"ref"\s*:\s*"([A-Za-z0-9]{1,16})"'),
    re.compile(rb'"ref"\s*:\s*([0-9]{1,16})\s*[,}]'),
    re.compile(rb"<ref>\s*([A-Za-z0-9]{1,16})\s*</ref>"),
)
_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates (JSON escapes)
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


class _Reject(Exception):
    def __init__(self, snu: Snu, reason: str, detail: str, ref: str | None = None) -> None:
        super().__init__(detail)
        self.snu, self.reason, self.detail, self.ref = snu, reason, detail, ref


_Bad = Callable[..., _Reject]


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
    fmt: Fmt = "xml" if _SNIFF_XML.match(payload) else "json"
    try:
        tags, repeated = _parse(payload, max_bytes, fmt)
        return _build(tags, repeated, topic_cid, fmt)
    except _Reject as rej:
        return Rejection(rej.snu, rej.reason, rej.detail, rej.ref, fmt)
    except Exception as exc:  # last resort: one bad message must never break the ingest loop
        _log.error("mrq decoder failed unexpectedly: %s", type(exc).__name__)
        return Rejection(Snu.INVALID_FORMAT, "invalid_format", "unreadable message", _sniff_ref(payload), fmt)


def _sniff_ref(payload: bytes) -> str | None:
    """Best-effort ref from a payload that could not be parsed, to address the reply."""
    for pattern in _SNIFF_REF:
        found = pattern.search(payload)
        if found:
            return found.group(1).decode("ascii")
    return None


def _parse(payload: bytes, max_bytes: int, fmt: Fmt) -> tuple[dict[str, Any], set[str]]:
    """Bytes -> (top-level tags, known tags given more than once)."""
    if len(payload) > max_bytes:
        raise _Reject(Snu.TOO_LONG, "too_long", f"payload exceeds {max_bytes} bytes", _sniff_ref(payload))
    try:
        text = payload.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        ref = _sniff_ref(payload)
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not UTF-8", ref) from None
    try:
        tags, repeated = _parse_xml(text) if fmt == "xml" else _parse_json(text)
    except _Reject as rej:
        rej.ref = _sniff_ref(payload)
        raise
    if _depth(tags) > MAX_DEPTH:
        detail = f"nesting deeper than {MAX_DEPTH} levels"
        raise _Reject(Snu.WRONG_DATA, "bad_value", detail, _ref_or_none(tags))
    if _has_bad_chars(tags):
        detail = "text contains NUL or unpaired surrogate characters"
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", detail, _ref_or_none(tags))
    return tags, repeated


class SourceNumber(str):
    """A number no double holds (``1e999``, ``-1E+400``) or a non-JSON ``NaN`` / ``Infinity``, kept
    as the text the unit sent: PostgreSQL's JSONB refuses non-finite numbers, and an alarm must
    never be lost to what an unknown tag holds. A known tag judges it as the text it is (a ``tim``
    of ``1e999`` is set aside like any bad time; a ``dty`` of ``NaN`` is a bad code, snu 3)."""


def _finite_or_source(text: str) -> float | SourceNumber:
    value = float(text)
    return value if math.isfinite(value) else SourceNumber(text)


def load_json(text: str, **hooks: Any) -> Any:
    """``json.loads`` with non-finite numbers kept as their source text (``SourceNumber``)."""
    return json.loads(text, parse_constant=SourceNumber, parse_float=_finite_or_source, **hooks)


def _parse_json(text: str) -> tuple[dict[str, Any], set[str]]:
    duplicates: list[set[str]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        seen: set[str] = set()
        for key, value in pairs:
            if key in obj:
                seen.add(key)
            obj[key] = value
        duplicates.append(seen)
        return obj

    try:
        data = load_json(text, object_pairs_hook=pairs_hook)
    except RecursionError:
        raise _Reject(Snu.WRONG_DATA, "bad_value", f"nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not a JSON object")
    # The hook runs innermost first, so the top-level object's duplicates come last.
    return data, duplicates[-1] & KNOWN_TAGS


def _parse_xml(text: str) -> tuple[dict[str, Any], set[str]]:
    # No DTD means no entity expansion (billion laughs) and no external entities.
    if _DTD.search(text):
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", "DOCTYPE and ENTITY declarations are not allowed")
    try:
        root = ET.fromstring(text)  # noqa: S314 - DTDs refused above
    except Exception:
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not well-formed XML") from None
    if _local(root.tag) != "mrq":
        raise _Reject(Snu.INVALID_FORMAT, "invalid_format", "XML root element must be <mrq>")
    if _xml_depth(root) > MAX_DEPTH:
        raise _Reject(Snu.WRONG_DATA, "bad_value", f"nesting deeper than {MAX_DEPTH} levels")
    tags = _xml_children(root)
    repeated = {name for name, value in tags.items() if isinstance(value, list)}
    return tags, (repeated & KNOWN_TAGS) - {"crd"}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml_depth(root: ET.Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        elem, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in elem)
    return deepest


def _xml_children(elem: ET.Element) -> dict[str, Any]:
    """Children as a dict: leaf -> its text, parent -> dict, repeated name -> list."""
    out: dict[str, Any] = {}
    for child in elem:
        name = _local(child.tag)
        value: Any = _xml_children(child) if len(child) else (child.text or "")
        if name not in out:
            out[name] = value
        elif isinstance(out[name], list):
            out[name].append(value)
        else:
            out[name] = [out[name], value]
    return out


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _has_bad_chars(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _BAD_CHARS.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _ref_or_none(tags: dict[str, Any]) -> str | None:
    raw = tags.get("ref")
    if isinstance(raw, SourceNumber):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return raw.strip() if isinstance(raw, str) and _REF.fullmatch(raw.strip()) else None


# --- validation -------------------------------------------------------------


def _build(tags: dict[str, Any], repeated: set[str], topic_cid: str | None, fmt: Fmt) -> Mrq:
    """Validate tags in the order SCAIP answers them: ref (10), mandatory (7), content (3)."""
    if "ref" in repeated:
        raise _Reject(Snu.REF_MISSING, "missing_ref", "tag 'ref' given more than once")
    if _blank(tags.get("ref")):
        raise _Reject(Snu.REF_MISSING, "missing_ref", "tag 'ref' is missing")
    ref = _ref_or_none(tags)
    if ref is None:
        raise _Reject(Snu.REF_MISSING, "missing_ref", "tag 'ref' must be 1-16 letters or digits")

    def bad(detail: str, reason: str = "bad_value") -> _Reject:
        return _Reject(Snu.WRONG_DATA, reason, detail, ref)

    for name in ("cid", "dty"):
        if _blank(tags.get(name)):
            raise _Reject(Snu.TAG_MISSING, "missing_tag", f"tag '{name}' is missing", ref)
    if repeated:
        raise bad(f"tag '{sorted(repeated)[0]}' given more than once")

    cid = _cid(tags["cid"], bad)
    if topic_cid is not None and cid != topic_cid:
        raise bad("tag 'cid' does not match the topic", "cid_mismatch")

    mty = (_text(tags, "mty", bad) or "ME").upper()
    if mty not in MESSAGE_TYPES:
        raise bad("tag 'mty' must be one of ME, RE, IN, PI")

    texts = {name: _text(tags, name, bad) for name in _TEXT_TAGS}
    return Mrq(
        ref=ref,
        cid=cid,
        dty=_code(tags["dty"], "dty", bad),
        mty=mty,
        stc=None if _blank(tags.get("stc")) else _code(tags["stc"], "stc", bad),
        pri=_pri(tags.get("pri"), bad),
        crd=_crd(tags.get("crd"), bad),
        lge=_lge(tags.get("lge"), bad),
        ver=_text(tags, "ver", bad) or DEFAULT_VERSION,
        tim=_time(tags.get("tim"), "tim", bad),
        extra={key: value for key, value in tags.items() if key not in KNOWN_TAGS},
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
