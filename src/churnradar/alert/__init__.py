"""Alerts: lifecycle (open, escalate, auto-resolve, cooldown, inhibit, silence, cap) and their storage."""
