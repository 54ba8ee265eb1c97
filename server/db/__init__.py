"""Persistence: Piccolo tables, transactions and read models."""
