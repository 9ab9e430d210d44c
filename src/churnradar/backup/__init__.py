"""Backups: the database and its lake copied together, as one consistent pair, and restored together."""
