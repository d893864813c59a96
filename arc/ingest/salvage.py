"""Never drop an alarm for a malformed optional tag.

The codec is strict: any tag with a bad value makes the whole message "wrong data
content" (snu 3). For the tags that carry the event itself (``ref``, ``cid``,
``dty``, ``mty``) that is right. For the optional ones it would throw away a
person's alarm because, say, the unit sent ``tim`` without a UTC offset, a ``pri``
of 12 or a GPS fix as "N52 E0". Here such tags are set aside -- kept, raw, under
``extra["invalid"]`` on the stored message -- and the rest is decoded again, so the
message is stored, triaged and answered like any other.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from devices.protocol import Mrq, Rejection, decode_mrq
from devices.protocol.codec import load_json

# Optional tags whose bad value is set aside rather than failing the message ("lge.tim": only the
# fix time goes, the position stays).
SET_ASIDE = frozenset(
    {"did", "dco", "dte", "stc", "stt", "pri", "cha", "crd", "lco", "lva", "lte", "lge", "hbo", "ver", "tim"}
    | {"lge.geo", "lge.tim"}
)
_TAG = re.compile(r"tag '([a-z.]+)'")


def salvage(payload: bytes, topic_cid: str | None, max_bytes: int, rejection: Rejection) -> Mrq | Rejection:
    """``rejection`` (from ``decode_mrq``) again, or the message without its malformed optional tags."""
    if rejection.reason != "bad_value" or topic_cid is None:
        return rejection
    try:
        document = _load(payload, rejection.fmt)
    except Exception:
        return rejection
    invalid: dict[str, Any] = {}
    current: Mrq | Rejection = rejection
    for _ in range(len(SET_ASIDE)):
        if isinstance(current, Mrq):
            extra = {**current.extra, "invalid": invalid}
            return dataclasses.replace(current, extra=extra)
        found = _TAG.match(current.detail) if current.reason == "bad_value" else None
        name = found.group(1) if found else None
        if name not in SET_ASIDE or name in invalid:
            return rejection
        invalid[name] = document.take(name)
        data = document.dump()
        current = decode_mrq(data, topic_cid, max(max_bytes, len(data)))
    return rejection


class _Json:
    def __init__(self, payload: bytes) -> None:
        data = load_json(payload.decode("utf-8").removeprefix("\ufeff"))  # 1e999 kept as text
        if not isinstance(data, dict):
            raise ValueError("not an object")
        self.data = data

    def take(self, name: str) -> Any:
        head, _, leaf = name.partition(".")
        if leaf and isinstance(self.data.get(head), dict):
            return self.data[head].pop(leaf, None)
        return self.data.pop(head, None)

    def dump(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False).encode("utf-8")


class _Xml:
    def __init__(self, payload: bytes) -> None:
        # decode_mrq parsed this document already and refused DOCTYPE / ENTITY declarations
        self.root = ET.fromstring(payload.decode("utf-8").removeprefix("\ufeff"))  # noqa: S314

    def take(self, name: str) -> Any:
        parent = self.root
        *path, leaf = name.split(".")
        for step in path:
            parent = next((child for child in parent if _local(child.tag) == step), None)
            if parent is None:
                return None
        taken = [child for child in parent if _local(child.tag) == leaf]
        for child in taken:
            parent.remove(child)
        values = [child.text or "" if not len(child) else ET.tostring(child, "unicode") for child in taken]
        return values[0] if len(values) == 1 else values

    def dump(self) -> bytes:
        return ET.tostring(self.root, encoding="unicode").encode("utf-8")


def _load(payload: bytes, fmt: str) -> _Json | _Xml:
    return _Xml(payload) if fmt == "xml" else _Json(payload)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
