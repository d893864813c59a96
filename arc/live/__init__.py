"""Live events: what dashboards see change, in order, with catch-up by id."""
