"""Call-handling KPIs: time to answer, % answered within 60 s / 180 s, time to responder arrival."""
