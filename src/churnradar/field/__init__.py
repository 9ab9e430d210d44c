"""Custom customer fields, named event attributes and manual entry forms, defined by admins without code."""
