"""All SQLAlchemy models, central so that domains never import each other's tables."""

from churnradar.db import Base
from churnradar.models.access import ApiToken, AuditEntry, UserPreference, UserSession
from churnradar.models.alert import (
    Alert,
    AlertEvent,
    AlertStatus,
    CustomerRisk,
    EvaluationRun,
    Rule,
    RuleVersion,
    RunStatus,
    Silence,
)
from churnradar.models.customer import Customer, CustomerStatus, OwnerChange
from churnradar.models.field import CustomField, EntryType
from churnradar.models.figures import StoredFigures
from churnradar.models.import_run import ImportRun, ImportStatus
from churnradar.models.indicator import CustomIndicator
from churnradar.models.intervention import (
    CustomerTag,
    FollowUp,
    InterventionTask,
    StoredPlaybook,
    TaskEvent,
)
from churnradar.models.ledger import Contract
from churnradar.models.meta import STORE_ID, StoreMeta
from churnradar.models.notification import DeliveryAttempt, OutboxMessage, StoredChannel
from churnradar.models.people import Role, Team, User
from churnradar.models.scoring import ChurnModel, CustomerScore
from churnradar.models.settings import SettingsDocument
from churnradar.models.source import Source, SourceBatch, SourceRun
from churnradar.models.worker import WorkerLease

__all__ = [
    "STORE_ID",
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ChurnModel",
    "Contract",
    "CustomField",
    "CustomIndicator",
    "Customer",
    "CustomerRisk",
    "CustomerScore",
    "CustomerStatus",
    "CustomerTag",
    "DeliveryAttempt",
    "EntryType",
    "EvaluationRun",
    "FollowUp",
    "ImportRun",
    "ImportStatus",
    "InterventionTask",
    "OutboxMessage",
    "OwnerChange",
    "Role",
    "Rule",
    "RuleVersion",
    "RunStatus",
    "SettingsDocument",
    "Silence",
    "Source",
    "SourceBatch",
    "SourceRun",
    "StoreMeta",
    "StoredChannel",
    "StoredFigures",
    "StoredPlaybook",
    "TaskEvent",
    "Team",
    "User",
    "UserPreference",
    "UserSession",
    "WorkerLease",
]
