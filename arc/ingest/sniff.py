"""What the ingest tells from a raw payload before it is parsed: its lane, and what a busy answer
needs. By pattern, not by parse — every message passes here, and at twice capacity half of them
are answered busy from this alone. A wrong guess only changes a message's lane (its order), never
what is stored or answered: the codec reads the message in full when it is stored.

Each test looks first for the canonical spelling a unit sends (``"mty":"PI"``, a plain substring
search, ~0.4 µs), and only then for the spellings JSON and SCAIP XML also allow (spaces, case:
a regular expression, ~1.3 µs): ``bench_shed``.
"""

from __future__ import annotations

import re

from devices.protocol.codes import StatusCategory, status_category

# a heartbeat, by its mty tag (JSON or XML, any case); anything else takes the fast lane
_HEARTBEAT = re.compile(rb'"mty"\s*:\s*"pi"|<mty>\s*pi\s*</mty>', re.IGNORECASE)
# a technical status (mains, link, battery...): its stc, and not a reset or update of an alarm's session
_STATUS_CODE = re.compile(rb'"stc"\s*:\s*"\s*(\w{1,8})|<stc>\s*(\w{1,8})', re.IGNORECASE)
_ACCEPTS_HBI = re.compile(rb'"hbo"\s*:\s*"\s*0*1\s*"|<hbo>\s*0*1\s*</hbo>', re.IGNORECASE)
_SESSION_OF_ALARM = re.compile(rb'"mty"\s*:\s*"(?:re|in)"|<mty>\s*(?:re|in)\s*</mty>', re.IGNORECASE)


def is_heartbeat(payload: bytes) -> bool:
    return b'"mty":"PI"' in payload or _HEARTBEAT.search(payload) is not None


def accepts_hbi(payload: bytes) -> bool:
    """The unit offers to take a heartbeat interval (``hbo`` 001)."""
    if b'"hbo":"001"' in payload:
        return True
    return b"hbo" in payload.lower() and _ACCEPTS_HBI.search(payload) is not None


def is_technical_status(payload: bytes) -> bool:
    found = _STATUS_CODE.search(payload)
    if found is None or _SESSION_OF_ALARM.search(payload):
        return False
    code = (found.group(1) or found.group(2)).decode("ascii", "replace")
    return status_category(code) == StatusCategory.TECHNICAL
