"""The overview's figures in the principal's scope: customers by a column, data counts, recent imports.

Each figure is its domain's: customers and data counts the customer domain's, the import log ingest's.
"""

from __future__ import annotations

from churnradar.customer import service as customer_service
from churnradar.ingest import service as ingest_service

customers_by = customer_service.customers_by
data_counts = customer_service.data_counts
recent_imports = ingest_service.recent_imports
