"""Users, passwords, API tokens, who may see which customers and fields, and the audit log."""
