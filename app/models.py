"""Every domain's models, imported so that ``Base.metadata`` is complete (Alembic, tests)."""

from app.artifacts.models import Artifact
from app.datasets.models import Dataset, DatasetSchemaVersion
from app.jobs.models import Job
from app.ledger.models import Budget, LedgerEntry
from app.policies.models import PolicyVersion
from app.reports.models import ValidationReport

__all__ = [
    "Artifact",
    "Budget",
    "Dataset",
    "DatasetSchemaVersion",
    "Job",
    "LedgerEntry",
    "PolicyVersion",
    "ValidationReport",
]
