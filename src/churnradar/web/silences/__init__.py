"""Silences over the API: list, add and end (the rules live in `churnradar.alert.service`)."""
