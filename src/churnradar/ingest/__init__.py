"""Ingest: files and batches in the canonical format → validated rows → idempotent upsert."""
