"""Responders and escalation: response tasks, their state machine, notifiers, the escalation sweep."""
