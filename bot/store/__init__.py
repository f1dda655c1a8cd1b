"""Persistence: a small async interface (base.Store) and its SQLite backend."""
