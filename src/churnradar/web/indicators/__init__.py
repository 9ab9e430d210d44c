"""Custom indicators through the API (#18): stored definitions, no code."""
