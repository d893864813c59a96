"""The kit: what every layer above may use — database sessions, clock, errors, settings,
crypto, HTTP middleware, the model base and the role names. Imports nothing of arc above it."""
