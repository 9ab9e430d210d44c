"""Small shared helpers that import nothing else from churnradar."""
