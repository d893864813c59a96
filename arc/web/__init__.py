"""Browser pages (operator dashboard, ERS jobs, log-in) and their static files."""
