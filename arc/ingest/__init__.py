"""Unit ingest: MQTT `mrq` in, store (inbox) and triage in one transaction, `mrs` out after COMMIT."""
