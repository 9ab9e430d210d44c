"""Effectiveness: is the system keeping customers? Churn rate over time, how warnings did, save rate."""
