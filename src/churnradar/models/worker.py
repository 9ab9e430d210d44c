"""The worker's lease: which worker process may run the scheduled jobs, until when (churnradar.worker)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class WorkerLease(Base):
    """One named lease: held by one worker until `expires_at`, renewed while it lives.

    A killed worker stops renewing, so another takes the lease over once it has expired.
    """

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
