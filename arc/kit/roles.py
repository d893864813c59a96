"""The role names, in a stable order (the first a person holds is their main role)."""

ROLES = ("operator", "supervisor", "ers", "tec", "finance", "admin")
