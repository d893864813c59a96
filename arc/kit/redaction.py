"""A logging filter that scrubs personal data a careless log line might carry.

The rule is still: log ids and cids, never names, addresses or notes. This is
the safety net: UK postcodes, phone numbers, e-mail addresses, key-safe codes,
bearer tokens and the bound parameters / row values SQLAlchemy and asyncpg put
into error messages are replaced before any handler writes the record.
"""

from __future__ import annotations

import logging
import re

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # SQLAlchemy: "[parameters: (...)]" and "[SQL: ...]" carry row values
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(|$|\n))", re.S), "[parameters: <redacted>]"),
    # PostgreSQL: DETAIL:  Key (case_ref)=(LAS-1001) already exists / Failing row contains (...)
    (re.compile(r"(Key \([^)]*\)=)\(.*?\)(?= )"), r"\1(<redacted>)"),
    (re.compile(r"Failing row contains \(.*?\)\.?", re.S), "Failing row contains (<redacted>)."),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer <redacted>"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b"), "<postcode>"),
    (re.compile(r"(?<![0-9])(?:\+44\s?|0)[0-9](?:[\s-]?[0-9]){8,9}(?![0-9])"), "<phone>"),
    (re.compile(r"(?i)\b(key[ -]?safe\b[^.\n]{0,60}?)\b[0-9]{3,8}\b"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (root by default) — handler filters see
    records propagated from every module, logger filters would not."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
