"""Warning indicators: typed YAML definitions compiled to Ibis, computed as of dates, snapshotted."""
