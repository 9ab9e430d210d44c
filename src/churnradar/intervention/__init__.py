"""Interventions: every warning becomes an owned task with a playbook, a deadline and follow-ups."""
