"""Customers, their Lifeline connections and nominated responders."""
