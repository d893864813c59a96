"""The append-only audit log: who looked at or changed which customer's data, when, from where."""
