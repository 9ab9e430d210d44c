"""The `churnradar` command line (CONTRACT §1)."""
