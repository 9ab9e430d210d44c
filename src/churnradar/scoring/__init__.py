"""Scores per customer from indicator values: the template-weighted health score and its band."""
