"""Custom fields and manual entry forms on the web: the admin API and page, the 360 parts, the entries."""
