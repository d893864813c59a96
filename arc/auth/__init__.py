"""Users, roles, authentication and authorisation."""
