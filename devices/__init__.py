"""Lifeline devices: wire protocol, unit and peripheral registry, comms state."""
