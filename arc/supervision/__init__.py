"""Fleet supervision: last heard, no-comms, link / mains / battery / tamper state, heartbeat intervals."""
