"""Reading an `mrq` payload: bytes -> its top-level tags (JSON or SCAIP XML), with the limits
a hostile payload meets first (size, UTF-8, no DTD, depth, NUL/surrogates). Pure, stdlib only.
Validating the tags into an `Mrq` is `codec`'s (`decode_mrq`)."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from typing import Any

from devices.protocol.codes import Snu
from devices.protocol.messages import Fmt

MAX_DEPTH = 32

KNOWN_TAGS = frozenset(
    {"ref", "cid", "dty", "mty", "did", "dco", "dte", "stc", "stt", "pri", "cha", "crd"}
    | {"lco", "lva", "lte", "lge", "hbo", "ver", "tim"}
)

_REF = re.compile(r"[A-Za-z0-9]{1,16}")
SNIFF_XML = re.compile(rb"(?:\xef\xbb\xbf)?\s*<")
_SNIFF_REF = (
    re.compile(rb'"ref"\s*:\s*"([A-Za-z0-9]{1,16})"'),
    re.compile(rb'"ref"\s*:\s*([0-9]{1,16})\s*[,}]'),
    re.compile(rb"<ref>\s*([A-Za-z0-9]{1,16})\s*</ref>"),
)
_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates (JSON escapes)


class Reject(Exception):
    def __init__(self, snu: Snu, reason: str, detail: str, ref: str | None = None) -> None:
        super().__init__(detail)
        self.snu, self.reason, self.detail, self.ref = snu, reason, detail, ref


def sniff_ref(payload: bytes) -> str | None:
    """Best-effort ref from a payload that could not be parsed, to address the reply."""
    for pattern in _SNIFF_REF:
        found = pattern.search(payload)
        if found:
            return found.group(1).decode("ascii")
    return None


def read_tags(payload: bytes, max_bytes: int, fmt: Fmt) -> tuple[dict[str, Any], set[str]]:
    """Bytes -> (top-level tags, known tags given more than once)."""
    if len(payload) > max_bytes:
        raise Reject(Snu.TOO_LONG, "too_long", f"payload exceeds {max_bytes} bytes", sniff_ref(payload))
    try:
        text = payload.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        ref = sniff_ref(payload)
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not UTF-8", ref) from None
    try:
        tags, repeated = _parse_xml(text) if fmt == "xml" else _parse_json(text)
    except Reject as rej:
        rej.ref = sniff_ref(payload)
        raise
    # JSON short cuts (most messages): fewer brackets than MAX_DEPTH cannot nest deeper than it, and
    # without a \u escape no string can hold a NUL or a lone surrogate (raw ones are not JSON)
    json_shallow = fmt == "json" and text.count("{") + text.count("[") < MAX_DEPTH
    if not json_shallow and _depth(tags) > MAX_DEPTH:
        detail = f"nesting deeper than {MAX_DEPTH} levels"
        raise Reject(Snu.WRONG_DATA, "bad_value", detail, ref_or_none(tags))
    if (fmt != "json" or "\\u" in text) and _has_bad_chars(tags):
        detail = "text contains NUL or unpaired surrogate characters"
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", detail, ref_or_none(tags))
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


class _Repeated(dict):
    """A JSON object in which a key was given more than once (the last value kept, as JSON readers
    do); ``repeated`` names those keys."""

    __slots__ = ("repeated",)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    counted: set[str] = set()
    repeated: set[str] = set()
    for key, _ in pairs:
        (repeated if key in counted else counted).add(key)
    marked = _Repeated(obj)
    marked.repeated = repeated
    return marked


# one decoder for every message: json.loads with hooks builds a new one (and its scanner) per call
_JSON = json.JSONDecoder(
    parse_constant=SourceNumber, parse_float=_finite_or_source, object_pairs_hook=_object
)


def _parse_json(text: str) -> tuple[dict[str, Any], set[str]]:
    try:
        data = _JSON.decode(text)
    except RecursionError:
        raise Reject(Snu.WRONG_DATA, "bad_value", f"nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not a JSON object")
    if isinstance(data, _Repeated):  # only the message's own tags count; nested objects are values
        return dict(data), data.repeated & KNOWN_TAGS
    return data, set()


def _parse_xml(text: str) -> tuple[dict[str, Any], set[str]]:
    # No DTD means no entity expansion (billion laughs) and no external entities.
    if _DTD.search(text):
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", "DOCTYPE and ENTITY declarations are not allowed")
    try:
        root = ET.fromstring(text)  # noqa: S314 - DTDs refused above
    except Exception:
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", "payload is not well-formed XML") from None
    if _local(root.tag) != "mrq":
        raise Reject(Snu.INVALID_FORMAT, "invalid_format", "XML root element must be <mrq>")
    if _xml_depth(root) > MAX_DEPTH:
        raise Reject(Snu.WRONG_DATA, "bad_value", f"nesting deeper than {MAX_DEPTH} levels")
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


def ref_or_none(tags: dict[str, Any]) -> str | None:
    raw = tags.get("ref")
    if isinstance(raw, SourceNumber):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return raw.strip() if isinstance(raw, str) and _REF.fullmatch(raw.strip()) else None
