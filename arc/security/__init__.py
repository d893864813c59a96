"""Protection of personal data: encryption at rest, headers, CORS, size limits, log redaction, retention."""
