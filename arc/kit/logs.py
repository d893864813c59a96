"""Logging set-up for every ``lifeline`` process (format, level, the chatty libraries quietened).

Its own small module so that ``lifeline ingest``, which must be receiving alarms soon after a
restart, can configure logging without importing the health endpoints of arc.observability (their
routes load the log-in dependencies and the migrations); arc.observability re-exports it.
"""

from __future__ import annotations

import logging

QUIET_LOGGERS = ("amqtt", "transitions", "pgserver", "hbmqtt", "apscheduler.executors.default")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
