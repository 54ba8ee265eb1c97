"""Use cases: load, authorise, apply the domain rule, write in one transaction, return events."""
