"""Rules: a small, safe condition language over indicators and customer fields, rule sets and templates."""
