"""churnradar: customer churn early-warning system."""

__version__ = "0.1.0"
