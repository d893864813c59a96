"""Alarms: the queue operators work, with an append-only event log per alarm."""
