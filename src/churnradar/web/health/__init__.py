"""Liveness, readiness and Prometheus metrics for the people who run churnradar (no sign-in)."""
