"""Customers: owners, tags, notes, custom fields, who may see which customer, and the customer 360 view."""
