"""All SQLAlchemy models, central so that domains never import each other's tables."""

from churnradar.db import Base
from churnradar.models.access import ApiToken, AuditEntry, UserPreference
from churnradar.models.alert import Alert, AlertEvent, CustomerRisk, EvaluationRun, Rule, Silence
from churnradar.models.customer import Customer, CustomerStatus
from churnradar.models.event import Event
from churnradar.models.import_run import ImportRun, ImportStatus
from churnradar.models.indicator import IndicatorValue
from churnradar.models.ledger import Contract, Invoice
from churnradar.models.people import Role, Team, User

__all__ = [
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Contract",
    "Customer",
    "CustomerRisk",
    "CustomerStatus",
    "EvaluationRun",
    "Event",
    "ImportRun",
    "ImportStatus",
    "IndicatorValue",
    "Invoice",
    "Role",
    "Rule",
    "Silence",
    "Team",
    "User",
    "UserPreference",
]
