"""Prometheus counters of the ingest (served on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "lifeline_ingest_messages_total", "Unit messages received, by outcome", ["outcome"]
)  # stored | duplicate | rejected | busy | not_treated
REJECTED = Counter("lifeline_ingest_rejected_total", "Unit messages refused, by reason", ["reason"])
ACTIONS = Counter("lifeline_ingest_triage_total", "What triage decided, by action", ["action"])
REPLIES = Counter("lifeline_ingest_replies_total", "mrs replies published, by snu", ["snu"])
BATCH_SIZE = Histogram(
    "lifeline_ingest_batch_size",
    "Messages per ingest transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_SECONDS = Histogram("lifeline_ingest_batch_seconds", "Time to store and triage one batch")
BATCH_FAILURES = Counter(
    "lifeline_ingest_batch_failures_total", "Batches rolled back and retried one message at a time"
)
CONNECTED = Gauge("lifeline_ingest_broker_connected", "1 while the ingest is connected to the broker")
BACKLOG = Gauge("lifeline_ingest_backlog", "Messages received and waiting to be stored")
