"""The overview's figures in the principal's scope: customers by a column, data counts, recent imports."""

from __future__ import annotations

from churnradar.web.overview import repository as repo

# The figures are read as the repository answers them; pages come through here, never the repository.
customers_by = repo.customers_by
data_counts = repo.data_counts
recent_imports = repo.recent_imports
